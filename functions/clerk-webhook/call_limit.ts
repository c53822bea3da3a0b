/**
 * How many calls of the group commit go to the database at once: a limit that follows
 * what the database absorbs. One call at a time is best where the database has a core or
 * two (the batches grow and each event costs the database less); on a server with many
 * cores it leaves all but one idle (measured on 16 cores: 574 events/s at 16 in flight
 * and 251 at 64 with one call, against 3,384 and 5,760 with 4 calls).
 *
 * While deliveries wait for a call (the database sets the pace), the limit probes: it
 * tries one call more for a measurement, and keeps it only if the events applied per
 * second rose by more than `gain`; otherwise it tries one call fewer, and keeps that if
 * throughput held within `loss` (fewer calls make bigger batches: the same throughput
 * for less of the database's time). After a probe that changed nothing it holds for
 * `holdEpochs` measurements, so that on a small database it spends nearly all its time
 * at one call. With nothing waiting it learns nothing, and after `idleMs` of that it goes
 * back to one call: at low load one call batches what arrives during it, for less of the
 * database's time.
 */

/** Options of {@linkcode createCallLimit}. */
export interface CallLimitOptions {
  /** The most calls in flight (the connections a pool may open for them). */
  max: number;
  /** The relative change of throughput that counts, above the noise (default 0.05). */
  gain?: number;
  /** The relative fall of throughput that one call fewer may cost and still be kept (default 0.05). */
  loss?: number;
  /** The shortest measurement, in milliseconds (default 250). */
  epochMs?: number;
  /** Measurements to hold at a limit after a probe that changed nothing (default 8). */
  holdEpochs?: number;
  /** Milliseconds with nothing waiting before the limit goes back to one (default 2,000). */
  idleMs?: number;
  /** The clock, in milliseconds. */
  now?: () => number;
}

/** The limit, and what it learns from each call. */
export interface CallLimit {
  /** Calls allowed in flight now. */
  current(): number;
  /**
   * A call of `size` deliveries has ended; `saturated` says deliveries were waiting for
   * a call (only then does the throughput measure the database).
   */
  ended(size: number, saturated: boolean): void;
}

/** What the limit is doing: measuring where it is, or trying one call more or fewer. */
type Phase = "hold" | "up" | "down";

/** Creates a limit of calls in flight that follows throughput (see the module's doc). */
export function createCallLimit(options: CallLimitOptions): CallLimit {
  const {
    max,
    gain = 0.05,
    loss = 0.05,
    epochMs = 250,
    holdEpochs = 8,
    idleMs = 2_000,
    now = () => performance.now(),
  } = options;
  let limit = 1;
  let phase: Phase = "hold";
  // The first measurement is followed by a probe at once.
  let held = holdEpochs - 1;
  /** Events per millisecond at `limit`, once measured. */
  let baseline: number | undefined;
  let epochStart: number | undefined;
  /** When a call last ended with deliveries waiting. */
  let lastSaturated = now();
  let epochEvents = 0;
  let epochCalls = 0;

  /** Decides on a measurement of `rate` events per millisecond at `limit`. */
  const decide = (rate: number) => {
    if (phase === "up") {
      if (baseline !== undefined && rate > baseline * (1 + gain)) {
        // One call more paid: keep it, and try the next one at once.
        baseline = rate;
        if (limit < max) limit++;
        else phase = "hold";
        return;
      }
      limit--; // It did not pay: back, then try one fewer.
      if (limit > 1) {
        phase = "down";
        limit--;
      } else {
        phase = "hold";
        held = 0;
      }
      return;
    }
    if (phase === "down") {
      if (baseline !== undefined && rate >= baseline * (1 - loss)) {
        // As much with one call fewer: keep it, and try another.
        baseline = rate;
        if (limit > 1) limit--;
        else [phase, held] = ["hold", 0];
        return;
      }
      limit++; // It lost: back, and hold there.
      [phase, held] = ["hold", 0];
      return;
    }
    baseline = rate;
    if (++held < holdEpochs) return;
    held = 0;
    if (limit < max) [phase, limit] = ["up", limit + 1];
    else if (limit > 1) [phase, limit] = ["down", limit - 1];
  };

  return {
    current: () => limit,
    ended(size, saturated) {
      if (max === 1) return;
      const at = now();
      if (!saturated) {
        // The load, not the database, set the pace: nothing to learn, start afresh.
        epochStart = undefined;
        if (limit > 1 && at - lastSaturated > idleMs) {
          [limit, phase, held, baseline] = [1, "hold", holdEpochs - 1, undefined];
        }
        return;
      }
      lastSaturated = at;
      if (epochStart === undefined) {
        [epochStart, epochEvents, epochCalls] = [at, 0, 0];
        return;
      }
      epochEvents += size;
      epochCalls++;
      const elapsed = at - epochStart;
      // Long enough to average: every call of the limit has ended a few times.
      if (elapsed < epochMs || epochCalls < 4 * limit) return;
      decide(epochEvents / elapsed);
      [epochStart, epochEvents, epochCalls] = [at, 0, 0];
    },
  };
}
