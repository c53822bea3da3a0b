/**
 * The read side of the backfill: which Clerk objects a synced table holds, and the
 * version (Clerk's updated_at) of each, read through public.clerk_sync_versions() over
 * the same database as the writes.
 */
import type { Database } from "../../functions/clerk-webhook/database.ts";

/** What the backfill knows of a stored row. */
export interface StoredRow {
  /** `clerk_updated_at`, in epoch milliseconds. */
  version: number;
  /** The Clerk id of its parent, for an object found through its parent (a membership). */
  parent?: string;
}

/** Clerk id → its row. */
export type StoredVersions = Map<string, StoredRow>;

/** Rows per call: Supabase's default `max_rows` for the Data API. */
const PAGE = 1000;

/** A row as public.clerk_sync_versions() answers it. */
interface Row {
  clerk_id: string;
  clerk_updated_at: string;
  [column: string]: string;
}

/**
 * The Clerk ids and versions of every row of `public.<table>`, with `parentColumn` when
 * given, paged by key (`clerk_id > last`) rather than by offset.
 */
export async function readStoredVersions(
  db: Database,
  table: string,
  parentColumn?: string,
): Promise<StoredVersions> {
  const versions: StoredVersions = new Map();
  for (let after: string | null = null;;) {
    const rows = await db.call("clerk_sync_versions", {
      p_table: `public.${table}`,
      p_after: after,
      p_limit: PAGE,
      p_column: parentColumn ?? null,
    }) as Row[];
    for (const row of rows) {
      const version = new Date(row.clerk_updated_at).getTime();
      const parent = parentColumn === undefined ? undefined : row[parentColumn];
      versions.set(row.clerk_id, parent === undefined ? { version } : { version, parent });
    }
    if (rows.length < PAGE) return versions;
    after = rows.at(-1)!.clerk_id;
  }
}
