/**
 * Opening the transport a configuration names, loading only its module: postgres.js or
 * supabase-js, not both, at start-up. The imports are string literals, which
 * `supabase functions deploy` bundles (it collects quoted import specifiers).
 */
import type { DatabaseConfig } from "./config.ts";
import type { Database } from "./database.ts";
import { DEFAULT_MAX_CALLS, type GroupCommitOptions } from "./group_commit.ts";
import { createSyncStore } from "./sync_store.ts";
import type { SyncStore } from "./store.ts";

/** Options of {@linkcode openDatabase}. */
export interface OpenOptions {
  /** Connections of a direct pool (default 2). */
  connections?: number;
  /** Names the direct connections in pg_stat_activity (default clerk-webhook). */
  applicationName?: string;
}

/** The direct PostgreSQL pool for `DATABASE_URL`, else the Supabase client. */
export async function openDatabase(
  database: DatabaseConfig,
  options: OpenOptions = {},
): Promise<Database> {
  if (database.transport === "postgres") {
    const { openPostgresDatabase } = await import("./postgres_database.ts");
    return openPostgresDatabase(database.url, {
      ...(options.connections === undefined ? {} : { max: options.connections }),
      ...(options.applicationName === undefined
        ? {}
        : { applicationName: options.applicationName }),
    });
  }
  const { openSupabaseDatabase } = await import("./supabase_database.ts");
  return openSupabaseDatabase(database.url, database.key);
}

/**
 * The store of the database `database` names, batching as `batching` says: a direct pool
 * holds one connection per call in flight, and one for recording refusals.
 */
export async function openStore(
  database: DatabaseConfig,
  batching: Pick<GroupCommitOptions, "maxCalls" | "maxBatch"> = {},
): Promise<SyncStore> {
  const db = await openDatabase(database, {
    connections: (batching.maxCalls ?? DEFAULT_MAX_CALLS) + 1,
  });
  return createSyncStore(db, batching);
}
