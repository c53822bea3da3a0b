/** The direct transport: public.apply_clerk_event() over a PostgreSQL connection pool. */
import postgres from "postgres";
import {
  APPLY_TIMEOUT_MS,
  applyArguments,
  storeError,
  StoreUnavailableError,
  type SyncStore,
  toOutcome,
} from "./store.ts";

/** Options of {@linkcode createPostgresStore}. */
export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Milliseconds before a call is cancelled and answered as unavailable. */
  timeoutMs?: number;
}

/** Opens a pool on `url` (lazily: the first apply connects). */
export function createPostgresStore(url: string, options: PostgresStoreOptions = {}): SyncStore {
  const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS;
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: Math.ceil(timeoutMs / 1000),
    // postgres.js waits up to 20 s between reconnections by default: during an outage a
    // delivery would wait out the time-out, and after it the pool would stay away that
    // long. Each delivery tries a connection at once instead (it only connects when a
    // query waits): a refused one answers 503 in milliseconds, a recovered one serves.
    backoff: () => 0,
    idle_timeout: 60,
    onnotice: () => {},
    // Parameters are text and timestamptz only: skip the array-types query on each connect.
    fetch_types: false,
    connection: { application_name: "clerk-webhook" },
  });

  return {
    async apply(svixId, event) {
      const a = applyArguments(svixId, event, timeoutMs);
      const query = sql`
        select public.apply_clerk_event(
          p_svix_id => ${a.p_svix_id}::text,
          p_event_type => ${a.p_event_type}::text,
          p_event_at => ${a.p_event_at}::timestamptz,
          p_object_id => ${a.p_object_id}::text,
          p_state => ${a.p_state === null ? null : sql.json(a.p_state as postgres.JSONValue)},
          p_deadline => ${a.p_deadline}::timestamptz
        ) as outcome`;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        // No query.cancel(): the deadline keeps the statement from committing after the
        // 503, and postgres.js leaves the rejection of a cancel that cannot connect
        // unhandled, which ends the process.
        timer = setTimeout(() => {
          reject(new StoreUnavailableError(`No answer from PostgreSQL within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      let rows;
      try {
        rows = await Promise.race([query, timeout]);
      } catch (error) {
        throw classify(error);
      } finally {
        clearTimeout(timer);
      }
      return toOutcome(rows[0]?.outcome);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** PostgreSQL errors carry a SQLSTATE; any other error (a socket's) failed on the way. */
function classify(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const isSqlState = error instanceof postgres.PostgresError;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = [code, message].filter((part) => typeof part === "string" && part !== "").join(" ");
  return storeError({
    code: isSqlState ? String(code) : undefined,
    message: isSqlState ? text : `PostgreSQL unavailable: ${text}`,
    cause: error,
  });
}
