/**
 * The embedded transport: the sync's SQL functions on a PGlite database in this process
 * (`npm start` without a configured database). The SQL functions do the writes, as with
 * the other transports.
 */
import { messages, type PGlite } from "@electric-sql/pglite";
import { callStatement, type Database } from "../../functions/clerk-webhook/database.ts";
import { storeError } from "../../functions/clerk-webhook/store.ts";

/**
 * Calls on `db`, one at a time as PGlite runs them. The database does not own `db`:
 * `close()` leaves it open for whoever opened it. A query in PGlite cannot be cancelled;
 * with one session in one process there is no lock to wait for or network to lose.
 */
export function openPGliteDatabase(db: PGlite): Database {
  return {
    async call(name, args) {
      const { text, values } = callStatement(name, args);
      try {
        const result = await db.query<{ result: unknown }>(text, values);
        return result.rows[0]?.result ?? null;
      } catch (error) {
        throw classify(error);
      }
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
