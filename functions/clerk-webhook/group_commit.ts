/**
 * Group commit, the store every transport is wrapped in: the deliveries that arrive
 * while calls are in flight go to the database together, as one call of
 * public.apply_clerk_events() (one round trip, one transaction, one WAL flush). A
 * delivery that finds a free call goes at once: nothing waits for company.
 *
 * A batch commits all of its deliveries or none. When it fails for a reason that passes
 * (503), none of its deliveries committed and each is answered 503; when it fails for
 * any other reason, each delivery is applied alone, so that one bad delivery cannot
 * change another's outcome.
 */
import { createCallLimit } from "./call_limit.ts";
import {
  APPLY_TIMEOUT_MS,
  type BatchArguments,
  batchArguments,
  type Delivery,
  type Outcome,
  StoreUnavailableError,
  type SyncStore,
  withTimeout,
} from "./store.ts";

/**
 * One call of public.apply_clerk_events() over a transport: resolves to the outcomes,
 * or rejects with the error `storeError()` makes of the failure.
 */
export type ApplyBatch = (args: BatchArguments) => Promise<Outcome[]>;

/** Options of {@linkcode groupCommit}. */
export interface GroupCommitOptions {
  /**
   * The most calls in flight at once (default 8); the deliveries that arrive meanwhile
   * wait and go together. Within it the limit follows what the database absorbs
   * (call_limit.ts): one call where it has a core or two, more where it has more.
   */
  maxCalls?: number;
  /** Deliveries per call at most (default 100). */
  maxBatch?: number;
  /**
   * Whether the calls in flight follow what the database absorbs (the default), or are
   * always `maxCalls` (for comparisons, and where one call at a time is a must).
   */
  adaptive?: boolean;
  /** Milliseconds before a delivery is answered as unavailable (default 8,000). */
  timeoutMs?: number;
  /** The clock the adaptive limit measures throughput with, in milliseconds. */
  now?: () => number;
}

/** The most calls in flight by default: the connections an isolate's pool may open for them. */
export const DEFAULT_MAX_CALLS = 8;

/** A delivery waiting for its outcome. */
interface Pending {
  delivery: Delivery;
  /** Epoch milliseconds after which the delivery is answered as unavailable. */
  deadline: number;
  settle: (result: Outcome | Error) => void;
  /** Whether every call was busy when it came (it waited for one). */
  waited?: boolean;
}

/** The applying half of a store: deliveries through `applyBatch`, grouped as they arrive. */
export function groupCommit(
  applyBatch: ApplyBatch,
  options: GroupCommitOptions = {},
): Pick<SyncStore, "apply" | "applyAll"> {
  const {
    maxCalls = DEFAULT_MAX_CALLS,
    maxBatch = 100,
    timeoutMs = APPLY_TIMEOUT_MS,
    adaptive = true,
    now,
  } = options;
  const queue: Pending[] = [];
  const limit = adaptive
    ? createCallLimit(now === undefined ? { max: maxCalls } : { max: maxCalls, now })
    : { current: () => maxCalls, ended: () => {} };
  let calls = 0;

  const unavailable = () =>
    new StoreUnavailableError(`No answer from the database within ${timeoutMs} ms`);

  /** Applies `deliveries` in one call, or each alone when the call failed for good. */
  const applyTogether = async (
    deliveries: readonly Delivery[],
    deadline: number,
  ): Promise<(Outcome | Error)[]> => {
    const call = applyBatch(batchArguments(deliveries, new Date(deadline)));
    try {
      return await withTimeout(call, deadline - Date.now(), unavailable);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (deliveries.length === 1 || failure instanceof StoreUnavailableError) {
        return deliveries.map(() => failure);
      }
      const alone = deliveries.map((delivery) => applyTogether([delivery], deadline));
      return (await Promise.all(alone)).map((results) => results[0]!);
    }
  };

  const pump = () => {
    while (calls < limit.current() && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      const deadline = Math.min(...batch.map((pending) => pending.deadline));
      calls++;
      applyTogether(batch.map((pending) => pending.delivery), deadline)
        .then((results) => batch.forEach((pending, i) => pending.settle(results[i]!)))
        .finally(() => {
          calls--;
          // Deliveries that found every call busy had to wait: the calls set the pace.
          limit.ended(batch.length, batch.some((pending) => pending.waited));
          pump();
        });
    }
  };

  const apply = (svixId: string, event: Delivery["event"]) =>
    new Promise<Outcome>((resolve, reject) => {
      let settled = false;
      const pending: Pending = {
        delivery: { svixId, event },
        deadline: Date.now() + timeoutMs,
        settle: (result) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      const timer = setTimeout(() => {
        const waiting = queue.indexOf(pending);
        if (waiting >= 0) queue.splice(waiting, 1);
        pending.settle(unavailable());
      }, timeoutMs);
      pending.waited = calls >= limit.current();
      queue.push(pending);
      pump();
    });

  return {
    apply,
    async applyAll(deliveries) {
      const results = await Promise.allSettled(
        deliveries.map(({ svixId, event }) => apply(svixId, event)),
      );
      const failure = results.find((result) => result.status === "rejected");
      if (failure !== undefined) throw failure.reason;
      return results.map((result) => (result as PromiseFulfilledResult<Outcome>).value);
    },
  };
}
