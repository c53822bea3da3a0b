/**
 * The embedded transport: public.apply_clerk_user_event() on a PGlite database in this
 * process (`npm start` without a configured database). The SQL function does the
 * writes, as with the other transports.
 */
import { messages, type PGlite } from "@electric-sql/pglite";
import {
  type ApplyArguments,
  applyArguments,
  isTransientSqlState,
  StoreUnavailableError,
  type SyncStore,
  toOutcome,
} from "../functions/clerk-webhook/store.ts";

/** The call with named arguments, as PostgREST makes it; PostgreSQL infers their types. */
function applyStatement(args: ApplyArguments): string {
  const names = Object.keys(args);
  const list = names.map((name, index) => `${name} => $${index + 1}`).join(", ");
  return `select public.apply_clerk_user_event(${list}) as outcome`;
}

/**
 * Applies deliveries on `db`. The store does not own `db`: `close()` leaves it open for
 * whoever opened it. There is no time limit: a query in PGlite cannot be cancelled,
 * and with one session in one process there is no lock to wait for or network to lose.
 */
export function createPGliteStore(db: PGlite): SyncStore {
  return {
    async apply(svixId, event) {
      const args = applyArguments(svixId, event);
      let result;
      try {
        result = await db.query<{ outcome: unknown }>(applyStatement(args), Object.values(args));
      } catch (error) {
        throw classify(error);
      }
      return toOutcome(result.rows[0]?.outcome);
    },
    close: () => Promise.resolve(),
  };
}

/** SQL errors carry a SQLSTATE; anything else (a closed or crashed PGlite) passes with a restart. */
function classify(error: unknown): unknown {
  if (error instanceof messages.DatabaseError && !isTransientSqlState(error.code ?? "")) {
    return error;
  }
  return new StoreUnavailableError(
    `PGlite unavailable: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}
