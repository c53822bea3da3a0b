/** The direct transport: public.apply_clerk_events() over a PostgreSQL connection pool. */
import postgres from "postgres";
import { groupCommit, type GroupCommitOptions } from "./group_commit.ts";
import {
  APPLY_TIMEOUT_MS,
  type BatchArguments,
  refusalArguments,
  storeError,
  StoreUnavailableError,
  type SyncStore,
  toOutcomes,
} from "./store.ts";

/** Options of {@linkcode createPostgresStore}. */
export interface PostgresStoreOptions extends Pick<GroupCommitOptions, "maxCalls" | "maxBatch"> {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Milliseconds before a delivery is answered as unavailable. */
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
    // Parameters are jsonb and timestamptz only: skip the array-types query on each connect.
    fetch_types: false,
    connection: { application_name: "clerk-webhook" },
  });

  // No query.cancel() when a call outlives its deadline: the deadline keeps it from
  // committing after the 503, and postgres.js leaves the rejection of a cancel that
  // cannot connect unhandled, which ends the process.
  const applyBatch = async ({ p_events, p_deadline }: BatchArguments) => {
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
