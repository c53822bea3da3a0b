/**
 * The read side of the backfill: which Clerk users public.users holds, and the version
 * (Clerk's updated_at) of each, over the same transport the writes use.
 */
import postgres from "postgres";
import type { DatabaseConfig } from "../functions/clerk-webhook/config.ts";
import { createServerClient } from "../functions/clerk-webhook/supabase_store.ts";

/** Clerk user id → `clerk_updated_at` of its row, in epoch milliseconds. */
export type StoredVersions = Map<string, number>;

/** Reads the stored versions of every row of public.users. */
export type StoredVersionsReader = () => Promise<StoredVersions>;

/** Rows per request through the Data API: Supabase's default `max_rows`. */
const DATA_API_PAGE = 1000;

/**
 * A reader for `database`: `select clerk_id, clerk_updated_at from public.users` on a
 * direct connection, or the same columns through the Data API as `service_role`.
 */
export function createStoredVersionsReader(database: DatabaseConfig): StoredVersionsReader {
  return database.transport === "postgres"
    ? () => readOverPostgres(database.url)
    : () => readOverDataApi(database.url, database.key);
}

async function readOverPostgres(url: string): Promise<StoredVersions> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: "clerk-backfill" },
  });
  try {
    const rows = await sql<{ clerk_id: string; clerk_updated_at: Date }[]>`
      select clerk_id, clerk_updated_at from public.users`;
    return new Map(rows.map((row) => [row.clerk_id, row.clerk_updated_at.getTime()]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Pages by key (`clerk_id > last`), not by offset: a project whose `max_rows` is below
 * the page size still gets every row, since only an empty page ends the read.
 */
async function readOverDataApi(url: string, key: string): Promise<StoredVersions> {
  const client = createServerClient(url, key);
  const versions: StoredVersions = new Map();
  let last: string | null = null;
  for (;;) {
    let query = client.from("users").select("clerk_id, clerk_updated_at");
    if (last !== null) query = query.gt("clerk_id", last);
    const { data, error, status } = await query.order("clerk_id").limit(DATA_API_PAGE);
    if (error !== null) {
      throw new Error(
        `Cannot read public.users through the Data API (${status}): ${error.code} ${error.message}`,
      );
    }
    const rows = data as { clerk_id: string; clerk_updated_at: string }[];
    if (rows.length === 0) return versions;
    for (const row of rows) versions.set(row.clerk_id, Date.parse(row.clerk_updated_at));
    last = rows.at(-1)!.clerk_id;
  }
}
