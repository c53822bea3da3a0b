/**
 * Opening the transport a configuration names, loading only its module: postgres.js or
 * supabase-js, not both, at start-up. The imports are string literals, which
 * `supabase functions deploy` bundles (it collects quoted import specifiers).
 */
import type { DatabaseConfig } from "./config.ts";
import type { GroupCommitOptions } from "./group_commit.ts";
import type { SyncStore } from "./store.ts";

/**
 * The direct PostgreSQL pool for `DATABASE_URL`, else the Supabase client, batching as
 * `batching` says (the function's defaults otherwise).
 */
export async function openStore(
  database: DatabaseConfig,
  batching: Pick<GroupCommitOptions, "maxCalls" | "maxBatch"> = {},
): Promise<SyncStore> {
  if (database.transport === "postgres") {
    const { createPostgresStore } = await import("./postgres_store.ts");
    return createPostgresStore(database.url, batching);
  }
  const { createSupabaseStore } = await import("./supabase_store.ts");
  return createSupabaseStore(database.url, database.key, batching);
}
