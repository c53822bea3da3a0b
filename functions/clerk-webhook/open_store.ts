/** Opening the transport a configuration names. */
import type { DatabaseConfig } from "./config.ts";
import { createPostgresStore } from "./postgres_store.ts";
import type { SyncStore } from "./store.ts";
import { createSupabaseStore } from "./supabase_store.ts";

/** The direct PostgreSQL pool for `DATABASE_URL`, else the Supabase client. */
export function openStore(database: DatabaseConfig): SyncStore {
  return database.transport === "postgres"
    ? createPostgresStore(database.url)
    : createSupabaseStore(database.url, database.key);
}
