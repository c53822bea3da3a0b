/** Shuffling lists for tests, the sender and the benchmark: one Fisher–Yates for all. */

/** A uniform integer in [0, n), from a cryptographic source. */
function randomInt(n: number): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % n;
}

/**
 * Shuffles `items` in place (Fisher–Yates) and returns them; `int(n)` draws an integer in
 * [0, n) (a seeded generator makes the order repeatable).
 */
export function shuffle<T>(items: T[], int: (n: number) => number = randomInt): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
