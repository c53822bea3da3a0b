/**
 * How many calls of the group commit go to the database at once: a limit that follows
 * what the database absorbs. One call at a time is best where the database has a core or
 * two (the batches grow and each event costs less); on a server with many cores it leaves
 * all but one idle, and throughput then falls as load rises (measured: 574 events/s at 16
 * in flight and 251 at 64 on 16 cores, against 3,384 and 5,760 with 4 calls).
 *
 * While deliveries wait (the database is the bottleneck), the limit climbs one call at a
 * time as long as each step raises the events applied per second by more than the noise,
 * and turns back when a step lowers it: it settles where more calls stop paying, within
 * `[1, max]`. With nothing waiting it stays as it is.
 */

/** Options of {@linkcode createCallLimit}. */
export interface CallLimitOptions {
  /** The most calls in flight (the connections a pool may open for them). */
  max: number;
  /** Where it starts (default 1). */
  initial?: number;
  /** The relative change of throughput that counts, above the noise (default 0.05). */
  gain?: number;
  /** The shortest measurement at one limit, in milliseconds (default 100). */
  epochMs?: number;
  /** The clock, in milliseconds. */
  now?: () => number;
}

/** The limit, and what it learns from each call. */
export interface CallLimit {
  /** Calls allowed in flight now. */
  current(): number;
  /**
   * A call of `size` deliveries has ended; `saturated` says deliveries were waiting for
   * a call throughout (only then does the throughput measure the database).
   */
  ended(size: number, saturated: boolean): void;
}

/** Creates a limit of calls in flight that follows throughput (see the module's doc). */
export function createCallLimit(options: CallLimitOptions): CallLimit {
  const { max, gain = 0.05, epochMs = 100, now = () => performance.now() } = options;
  let limit = Math.min(max, Math.max(1, options.initial ?? 1));
  let direction = 1;
  let previousRate: number | undefined;
  let epochStart: number | undefined;
  let epochEvents = 0;
  let epochCalls = 0;

  const step = () => {
    const next = limit + direction;
    if (next < 1 || next > max) direction = -direction;
    limit = Math.min(max, Math.max(1, limit + direction));
  };

  return {
    current: () => limit,
    ended(size, saturated) {
      if (max === 1) return;
      if (!saturated) {
        // The load, not the database, set the pace: nothing to learn, start afresh.
        epochStart = undefined;
        return;
      }
      const at = now();
      if (epochStart === undefined) {
        epochStart = at;
        epochEvents = 0;
        epochCalls = 0;
        return;
      }
      epochEvents += size;
      epochCalls++;
      const elapsed = at - epochStart;
      // Long enough to average: every call of the limit has ended a few times.
      if (elapsed < epochMs || epochCalls < 4 * limit) return;
      const rate = epochEvents / elapsed;
      // A step that lowered throughput is taken back; one within the noise is followed by
      // another the same way, so that a gentle slope is still climbed.
      if (previousRate !== undefined && rate < previousRate * (1 - gain)) direction = -direction;
      previousRate = rate;
      step();
      epochStart = at;
      epochEvents = 0;
      epochCalls = 0;
    },
  };
}
