/** Shrinking a failing input to a small one that still fails (delta debugging). */

/** What {@linkcode shrink} found. */
export interface ShrinkResult<T> {
  /** The smallest failing sublist found; no single item of it can be removed. */
  items: T[];
  /** How many times `fails` was called. */
  runs: number;
}

/**
 * Removes chunks of `items` (halves, then quarters, … then single items) while
 * `fails` still answers true for what is left, keeping the order of what remains
 * (greedy ddmin). Stops after `maxRuns` calls of `fails`, returning the best so far.
 */
export async function shrink<T>(
  items: readonly T[],
  fails: (items: T[]) => Promise<boolean>,
  maxRuns = 500,
): Promise<ShrinkResult<T>> {
  let current = [...items];
  let granularity = 2;
  let runs = 0;
  while (current.length > 1 && runs < maxRuns) {
    const size = Math.ceil(current.length / granularity);
    let removed = false;
    for (let start = 0; start < current.length && runs < maxRuns; start += size) {
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      runs++;
      if (await fails(candidate)) {
        current = candidate;
        granularity = Math.max(granularity - 1, 2);
        removed = true;
        break;
      }
    }
    if (!removed) {
      if (size === 1) break;
      granularity = Math.min(granularity * 2, current.length);
    }
  }
  return { items: current, runs };
}
