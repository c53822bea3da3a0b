/**
 * The read side of the backfill: which Clerk objects a synced table holds, and the
 * version (Clerk's updated_at) of each, over the same transport the writes use.
 */
import postgres from "postgres";
import type { DatabaseConfig } from "../functions/clerk-webhook/config.ts";
import { createServerClient } from "../functions/clerk-webhook/supabase_store.ts";

/** What the backfill knows of a stored row. */
export interface StoredRow {
  /** `clerk_updated_at`, in epoch milliseconds. */
  version: number;
  /** For a membership, its organization's Clerk id. */
  organizationId?: string;
}

/** Clerk id → its row. */
export type StoredVersions = Map<string, StoredRow>;

/** Reads the stored versions of every row of one table. */
export type StoredVersionsReader = () => Promise<StoredVersions>;

/** The synced tables the backfill reads. */
export type SyncedTable = "users" | "organizations" | "organization_memberships";

/** Rows per request through the Data API: Supabase's default `max_rows`. */
const DATA_API_PAGE = 1000;

interface Row {
  clerk_id: string;
  clerk_updated_at: Date | string;
  organization_id?: string;
}

function toStored(row: Row): [string, StoredRow] {
  const version = new Date(row.clerk_updated_at).getTime();
  return [
    row.clerk_id,
    row.organization_id === undefined ? { version } : {
      version,
      organizationId: row.organization_id,
    },
  ];
}

/**
 * A reader of `public.<table>` for `database`: its Clerk ids and versions on a direct
 * connection, or the same columns through the Data API as `service_role`.
 */
export function createStoredVersionsReader(
  database: DatabaseConfig,
  table: SyncedTable = "users",
): StoredVersionsReader {
  const columns = table === "organization_memberships"
    ? ["clerk_id", "clerk_updated_at", "organization_id"]
    : ["clerk_id", "clerk_updated_at"];
  return database.transport === "postgres"
    ? () => readOverPostgres(database.url, table, columns)
    : () => readOverDataApi(database.url, database.key, table, columns);
}

async function readOverPostgres(
  url: string,
  table: SyncedTable,
  columns: string[],
): Promise<StoredVersions> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: "clerk-backfill" },
  });
  try {
    const rows = await sql<Row[]>`select ${sql(columns)} from ${sql("public")}.${sql(table)}`;
    return new Map(rows.map(toStored));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Pages by key (`clerk_id > last`), not by offset: a project whose `max_rows` is below
 * the page size still gets every row, since only an empty page ends the read.
 */
async function readOverDataApi(
  url: string,
  key: string,
  table: SyncedTable,
  columns: string[],
): Promise<StoredVersions> {
  const client = createServerClient(url, key);
  const versions: StoredVersions = new Map();
  let last: string | null = null;
  for (;;) {
    let query = client.from(table).select(columns.join(", "));
    if (last !== null) query = query.gt("clerk_id", last);
    const { data, error, status } = await query.order("clerk_id").limit(DATA_API_PAGE);
    if (error !== null) {
      throw new Error(
        `Cannot read public.${table} through the Data API (${status}): ${error.code} ${error.message}`,
      );
    }
    const rows = data as unknown as Row[];
    if (rows.length === 0) return versions;
    for (const row of rows) versions.set(...toStored(row));
    last = rows.at(-1)!.clerk_id;
  }
}
