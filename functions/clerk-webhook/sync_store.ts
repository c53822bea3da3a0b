/**
 * The store the handler and the backfill write through, on any {@linkcode Database}:
 * deliveries grouped into calls of public.apply_clerk_events() (group_commit.ts), the
 * schema checked before the first write, refusals recorded.
 */
import type { Database } from "./database.ts";
import { type ApplyBatch, groupCommit, type GroupCommitOptions } from "./group_commit.ts";
import {
  APPLY_TIMEOUT_MS,
  refusalArguments,
  schemaCheck,
  type SyncStore,
  toOutcomes,
} from "./store.ts";

/** The store of `db`, batching as `options` say (the function's defaults otherwise). */
export function createSyncStore(db: Database, options: GroupCommitOptions = {}): SyncStore {
  const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS;
  const checkSchema = schemaCheck(() => db.call("clerk_sync_schema_version"));
  const applyBatch: ApplyBatch = async (args) => {
    await checkSchema();
    // The Data API's request is aborted at the deadline; the transaction refuses to
    // commit after it anyway.
    const wait = args.p_deadline === null ? timeoutMs : Date.parse(args.p_deadline) - Date.now();
    const outcomes = await db.call("apply_clerk_events", args, {
      signal: AbortSignal.timeout(Math.max(0, wait)),
    });
    return toOutcomes(outcomes, args.p_events.length);
  };
  return {
    ...groupCommit(applyBatch, { ...options, timeoutMs }),
    async recordRefusal(refusal) {
      await db.call("record_clerk_refusal", refusalArguments(refusal));
    },
    checkSchema,
    close: () => db.close(),
  };
}
