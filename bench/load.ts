/**
 * Load generation: an open loop at a fixed rate, a closed loop at a fixed concurrency.
 * A phase may run as several slices; their raw figures merge into one result.
 */

/** Sends event `index` and resolves to a label to tally (e.g. the outcome), or throws. */
export type Send = (index: number) => Promise<string>;

/** What came back. */
export interface Tally {
  /** Answers by label. */
  outcomes: Record<string, number>;
  failures: number;
  /** The first failure's message, to say what went wrong. */
  firstFailure?: string;
}

/** The raw figures of an open-loop slice, in milliseconds. */
export interface RateSlice extends Tally {
  latencies: number[];
  /** How late each request left on its schedule. */
  lags: number[];
  seconds: number;
}

/** The raw figures of a closed-loop slice. */
export interface ConcurrencySlice extends Tally {
  completed: number;
  seconds: number;
}

/** Latency at a fixed rate, in milliseconds. */
export interface RateResult extends Tally {
  rate: number;
  sent: number;
  /** Completions per second over the phase. */
  achievedRate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How late the sender was on its schedule (99th percentile): large means it could not keep up. */
  sendLagP99: number;
}

/** Throughput at a fixed concurrency. */
export interface ConcurrencyResult extends Tally {
  concurrency: number;
  completed: number;
  seconds: number;
  eventsPerSecond: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The nearest-rank percentile `p` (0 to 100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Adds the answers of `tallies` together. */
export function mergeTallies(tallies: readonly Tally[]): Tally {
  const total: Tally = { outcomes: {}, failures: 0 };
  for (const tally of tallies) {
    for (const [label, count] of Object.entries(tally.outcomes)) {
      total.outcomes[label] = (total.outcomes[label] ?? 0) + count;
    }
    total.failures += tally.failures;
    if (tally.firstFailure !== undefined) total.firstFailure ??= tally.firstFailure;
  }
  return total;
}

/** Runs `send` and records its answer in `tally`; resolves to whether it succeeded. */
async function record(tally: Tally, send: Send, index: number): Promise<boolean> {
  try {
    const label = await send(index);
    tally.outcomes[label] = (tally.outcomes[label] ?? 0) + 1;
    return true;
  } catch (error) {
    tally.failures++;
    tally.firstFailure ??= error instanceof Error ? error.message : String(error);
    return false;
  }
}

/**
 * Sends `count` events at `rate` per second on a fixed schedule, whether or not earlier
 * ones were answered (open loop), so waiting in the server's queues shows in the latency.
 * Latency runs from the moment each request leaves to its full answer.
 */
export async function runAtRate(send: Send, count: number, rate: number): Promise<RateSlice> {
  const slice: RateSlice = { outcomes: {}, failures: 0, latencies: [], lags: [], seconds: 0 };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let index = 0; index < count; index++) {
    const due = start + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    slice.lags.push(sent - due);
    pending.push(
      record(slice, send, index).then((ok) => {
        if (ok) slice.latencies.push(performance.now() - sent);
      }),
    );
  }
  await Promise.all(pending);
  slice.seconds = (performance.now() - start) / 1000;
  return slice;
}

/** Merges the open-loop slices of one rate into its percentiles. */
export function rateResult(rate: number, slices: readonly RateSlice[]): RateResult {
  const latencies = slices.flatMap((slice) => slice.latencies).sort((a, b) => a - b);
  const lags = slices.flatMap((slice) => slice.lags).sort((a, b) => a - b);
  const seconds = slices.reduce((sum, slice) => sum + slice.seconds, 0);
  return {
    rate,
    sent: lags.length,
    achievedRate: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    sendLagP99: percentile(lags, 99),
    ...mergeTallies(slices),
  };
}

/**
 * Keeps `concurrency` requests in flight (closed loop) for `seconds` or until the
 * `count` events run out, and counts the completions.
 */
export async function runAtConcurrency(
  send: Send,
  count: number,
  options: { concurrency: number; seconds: number },
): Promise<ConcurrencySlice> {
  const slice: ConcurrencySlice = { outcomes: {}, failures: 0, completed: 0, seconds: 0 };
  let next = 0;
  const start = performance.now();
  const end = start + options.seconds * 1000;
  let last = start;
  const worker = async () => {
    while (next < count && performance.now() < end) {
      if (await record(slice, send, next++)) slice.completed++;
      last = performance.now();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  slice.seconds = (last - start) / 1000;
  return slice;
}

/** Merges the closed-loop slices of one concurrency into its throughput. */
export function concurrencyResult(
  concurrency: number,
  slices: readonly ConcurrencySlice[],
): ConcurrencyResult {
  const completed = slices.reduce((sum, slice) => sum + slice.completed, 0);
  const seconds = slices.reduce((sum, slice) => sum + slice.seconds, 0);
  return {
    concurrency,
    completed,
    seconds,
    eventsPerSecond: completed / seconds,
    ...mergeTallies(slices),
  };
}
