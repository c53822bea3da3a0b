/**
 * A database holding the sync's own schema and nothing else, for `npm run types`: this
 * repository's supabase/migrations applied with `supabase db push` to a new database
 * prepared as the Supabase platform prepares one, exactly as `npm test` makes its
 * template, on the tests' server (TEST_DATABASE_URL, else an embedded PostgreSQL 17).
 */
import { createMigratedDatabase, dropDatabases } from "../../dev/database.ts";
import { openTestServer, SCRATCH_SETTINGS } from "../../dev/postgres_server.ts";

/** The migrated database; disposing it drops it, and stops a server started for it. */
export interface SyncDatabase extends AsyncDisposable {
  url: string;
  /** Where it runs, for the command's output. */
  description: string;
}

/** Creates a database from supabase/migrations, on a server started for it if need be. */
export async function openSyncDatabase(): Promise<SyncDatabase> {
  const server = await openTestServer(SCRATCH_SETTINGS);
  const name = `cws_types_${Date.now().toString(36)}_${Deno.pid}`;
  const dispose = async () => {
    try {
      // An embedded server goes with everything on it.
      if (server.external) await dropDatabases(name);
    } finally {
      await server[Symbol.asyncDispose]();
    }
  };
  try {
    const url = await createMigratedDatabase(name);
    return {
      url,
      description: `supabase/migrations on ${server.description}`,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
