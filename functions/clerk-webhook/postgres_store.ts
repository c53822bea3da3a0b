/**
 * The direct transport: public.apply_clerk_events() over a PostgreSQL connection pool,
 * safe behind a transaction-mode pooler (Supavisor on port 6543, PgBouncer): Supabase
 * tells edge functions to connect through one, where two consecutive statements of a
 * client may run on different server connections.
 */
import postgres from "postgres";
import { groupCommit, type GroupCommitOptions } from "./group_commit.ts";
import {
  APPLY_TIMEOUT_MS,
  type BatchArguments,
  refusalArguments,
  schemaCheck,
  storeError,
  StoreUnavailableError,
  type SyncStore,
  toOutcomes,
} from "./store.ts";

/** Options of {@linkcode createPostgresStore}. */
export interface PostgresStoreOptions extends Pick<GroupCommitOptions, "maxCalls" | "maxBatch"> {
  /** Connections in the pool (default: one per call in flight, and one for refusals). */
  max?: number;
  /** Milliseconds before a delivery is answered as unavailable. */
  timeoutMs?: number;
}

/**
 * One statement in flight per connection: postgres.js otherwise pipelines queries on a
 * busy connection, which transaction-mode poolers have answered out of order or not at
 * all (porsager/postgres#970, supabase/supabase#50358). With `max_pipeline` 0 a
 * connection takes its next query once the last one is answered. The option is
 * postgres.js's own (src/index.js) but missing from its type declarations.
 */
const ONE_QUERY_IN_FLIGHT = { max_pipeline: 0 };

/** Opens a pool on `url` (lazily: the first apply connects). */
export function createPostgresStore(url: string, options: PostgresStoreOptions = {}): SyncStore {
  const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS;
  const sql = postgres(url, {
    // Each isolate has its own pool, and the group commit keeps at most maxCalls calls
    // in flight: more connections would only sit idle on the pooler or the server.
    max: options.max ?? (options.maxCalls ?? 1) + 1,
    // No named prepared statements: under a transaction-mode pooler the next statement
    // may reach a server connection that never saw the Parse (26000 "prepared statement
    // … does not exist"). The SQL function's own plans are cached by PL/pgSQL anyway.
    prepare: false,
    ...ONE_QUERY_IN_FLIGHT,
    connect_timeout: Math.ceil(timeoutMs / 1000),
    // postgres.js waits up to 20 s between reconnections by default: during an outage a
    // delivery would wait out the time-out, and after it the pool would stay away that
    // long. Each delivery tries a connection at once instead (it only connects when a
    // query waits): a refused one answers 503 in milliseconds, a recovered one serves.
    backoff: () => 0,
    idle_timeout: 60,
    onnotice: () => {},
    // Parameters are jsonb and timestamptz only: skip the array-types query on each connect.
    fetch_types: false,
    connection: { application_name: "clerk-webhook" },
  });

  // No query.cancel() when a call outlives its deadline: the deadline keeps it from
  // committing after the 503, and postgres.js leaves the rejection of a cancel that
  // cannot connect unhandled, which ends the process.
  const checkSchema = schemaCheck(async () => {
    try {
      const [row] = await sql`select public.clerk_sync_schema_version() as version`;
      return row?.version;
    } catch (error) {
      throw classify(error);
    }
  });
  const applyBatch = async ({ p_events, p_deadline }: BatchArguments) => {
    await checkSchema();
    let rows;
    try {
      // As JSON: without fetch_types, postgres.js leaves a text[] unparsed.
      rows = await sql`
        select to_json(public.apply_clerk_events(
          ${sql.json(p_events as unknown as postgres.JSONValue)},
          ${p_deadline}::timestamptz
        )) as outcomes`;
    } catch (error) {
      throw classify(error);
    }
    return toOutcomes(rows[0]?.outcomes, p_events.length);
  };
  return {
    ...groupCommit(applyBatch, { ...options, timeoutMs }),
    async recordRefusal(refusal) {
      const a = refusalArguments(refusal);
      try {
        await sql`select public.record_clerk_refusal(
          ${a.p_svix_id}::text, ${a.p_event_type}::text, ${a.p_status}::int, ${a.p_reason}::text
        )`;
      } catch (error) {
        throw classify(error);
      }
    },
    checkSchema,
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
