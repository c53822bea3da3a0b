/**
 * The direct transport: the sync's SQL functions over a PostgreSQL connection pool, safe
 * behind a transaction-mode pooler (Supavisor on port 6543, PgBouncer): Supabase tells
 * edge functions to connect through one, where two consecutive statements of a client
 * may run on different server connections.
 */
import postgres from "postgres";
import { callStatement, type Database } from "./database.ts";
import { APPLY_TIMEOUT_MS, storeError } from "./store.ts";

/** Options of {@linkcode openPostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** Connections in the pool (default 2: a call in flight and a refusal being recorded). */
  max?: number;
  /** Seconds to wait for a connection (default: the apply time-out's). */
  connectTimeoutMs?: number;
  /** Names the connections in pg_stat_activity (default clerk-webhook). */
  applicationName?: string;
}

/**
 * One statement in flight per connection: postgres.js otherwise pipelines queries on a
 * busy connection, which transaction-mode poolers have answered out of order or not at
 * all (porsager/postgres#970, supabase/supabase#50358). With `max_pipeline` 0 a
 * connection takes its next query once the last one is answered. The option is
 * postgres.js's own (src/index.js) but missing from its type declarations.
 */
const ONE_QUERY_IN_FLIGHT = { max_pipeline: 0 };

/** Opens a pool on `url` (lazily: the first call connects). */
export function openPostgresDatabase(
  url: string,
  options: PostgresDatabaseOptions = {},
): Database {
  const sql = postgres(url, {
    // Each isolate has its own pool, and the group commit keeps its calls in flight
    // bounded: more connections would only sit idle on the pooler or the server.
    max: options.max ?? 2,
    // No named prepared statements: under a transaction-mode pooler the next statement
    // may reach a server connection that never saw the Parse (26000 "prepared statement
    // … does not exist"). The SQL functions' own plans are cached by PL/pgSQL anyway.
    prepare: false,
    ...ONE_QUERY_IN_FLIGHT,
    connect_timeout: Math.ceil((options.connectTimeoutMs ?? APPLY_TIMEOUT_MS) / 1000),
    // postgres.js waits up to 20 s between reconnections by default: during an outage a
    // delivery would wait out the time-out, and after it the pool would stay away that
    // long. Each call tries a connection at once instead (it only connects when a query
    // waits): a refused one answers 503 in milliseconds, a recovered one serves.
    backoff: () => 0,
    idle_timeout: 60,
    onnotice: () => {},
    // Every parameter goes untyped (typed by the function called): skip the array-types
    // query on each connect.
    fetch_types: false,
    connection: { application_name: options.applicationName ?? "clerk-webhook" },
  });
  return {
    // No query.cancel() when a call outlives its deadline: the deadline keeps it from
    // committing after the 503, and postgres.js leaves the rejection of a cancel that
    // cannot connect unhandled, which ends the process.
    async call(name, args) {
      const { text, values } = callStatement(name, args);
      try {
        const rows = await sql.unsafe(text, values as postgres.ParameterOrJSON<never>[]);
        return rows[0]?.result ?? null;
      } catch (error) {
        throw classify(error);
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** PostgreSQL errors carry a SQLSTATE; any other error (a socket's) failed on the way. */
function classify(error: unknown): Error {
  const isSqlState = error instanceof postgres.PostgresError;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = [code, message].filter((part) => typeof part === "string" && part !== "").join(" ");
  return storeError({
    code: isSqlState ? String(code) : undefined,
    message: isSqlState ? text : `PostgreSQL unavailable: ${text}`,
    cause: error,
  });
}
