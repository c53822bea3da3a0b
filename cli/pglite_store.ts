/**
 * The embedded transport: public.apply_clerk_event() on a PGlite database in this
 * process (`npm start` without a configured database). The SQL function does the
 * writes, as with the other transports.
 */
import { messages, type PGlite } from "@electric-sql/pglite";
import {
  applyArguments,
  storeError,
  type SyncStore,
  toOutcome,
} from "../functions/clerk-webhook/store.ts";

/** The call with named arguments, as PostgREST makes it. */
const APPLY = `select public.apply_clerk_event(p_svix_id => $1::text, p_event_type => $2::text,
  p_event_at => $3::timestamptz, p_object_id => $4::text, p_state => $5::jsonb) as outcome`;

/**
 * Applies deliveries on `db`. The store does not own `db`: `close()` leaves it open for
 * whoever opened it. There is no time limit: a query in PGlite cannot be cancelled,
 * and with one session in one process there is no lock to wait for or network to lose.
 */
export function createPGliteStore(db: PGlite): SyncStore {
  return {
    async apply(svixId, event) {
      const a = applyArguments(svixId, event);
      const state = a.p_state === null ? null : JSON.stringify(a.p_state);
      const params = [a.p_svix_id, a.p_event_type, a.p_event_at, a.p_object_id, state];
      let result;
      try {
        result = await db.query<{ outcome: unknown }>(APPLY, params);
      } catch (error) {
        throw classify(error);
      }
      return toOutcome(result.rows[0]?.outcome);
    },
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
