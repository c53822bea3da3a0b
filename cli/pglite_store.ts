/**
 * The embedded transport: public.apply_clerk_events() on a PGlite database in this
 * process (`npm start` without a configured database). The SQL function does the
 * writes, as with the other transports.
 */
import { messages, type PGlite } from "@electric-sql/pglite";
import { groupCommit } from "../functions/clerk-webhook/group_commit.ts";
import {
  type BatchArguments,
  refusalArguments,
  schemaCheck,
  storeError,
  type SyncStore,
  toOutcomes,
} from "../functions/clerk-webhook/store.ts";

const APPLY = "select to_json(public.apply_clerk_events($1::jsonb)) as outcomes";

/**
 * Applies deliveries on `db`. The store does not own `db`: `close()` leaves it open for
 * whoever opened it. One call at a time, as PGlite runs one query at a time; there is
 * no deadline: a query in PGlite cannot be cancelled, and with one session in one
 * process there is no lock to wait for or network to lose.
 */
export function createPGliteStore(db: PGlite): SyncStore {
  const checkSchema = schemaCheck(async () => {
    try {
      const result = await db.query<{ version: unknown }>(
        "select public.clerk_sync_schema_version() as version",
      );
      return result.rows[0]?.version;
    } catch (error) {
      throw classify(error);
    }
  });
  const applyBatch = async ({ p_events }: BatchArguments) => {
    await checkSchema();
    let result;
    try {
      result = await db.query<{ outcomes: unknown }>(APPLY, [JSON.stringify(p_events)]);
    } catch (error) {
      throw classify(error);
    }
    return toOutcomes(result.rows[0]?.outcomes, p_events.length);
  };
  return {
    ...groupCommit(applyBatch, { maxCalls: 1 }),
    async recordRefusal(refusal) {
      const a = refusalArguments(refusal);
      try {
        await db.query("select public.record_clerk_refusal($1, $2, $3, $4)", [
          a.p_svix_id,
          a.p_event_type,
          a.p_status,
          a.p_reason,
        ]);
      } catch (error) {
        throw classify(error);
      }
    },
    checkSchema,
    close: () => Promise.resolve(),
  };
}

/** SQL errors carry a SQLSTATE; anything else (a closed or crashed PGlite) passes with a restart. */
function classify(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof messages.DatabaseError
    ? storeError({ code: error.code, message, cause: error })
    : storeError({ message: `PGlite unavailable: ${message}`, cause: error });
}
