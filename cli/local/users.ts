/**
 * `npm run users [--json] [--orgs]`: lists public.users (or, with `--orgs`, the
 * organizations with their members), since Supabase Studio is not there locally. A row
 * kept after Clerk deleted it is marked `(deleted <time>)`; `--json` has its `deleted_at`.
 * Reads `DATABASE_URL` if set; else the embedded database, through the socket
 * of the running `npm start` (PGlite is one process's), or directly from `.data/pglite`
 * when `npm start` is not running.
 */
import { PGlite } from "@electric-sql/pglite";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { displayPath, PGLITE_DIR, readRunningServer } from "./local_dev.ts";

/**
 * What is listed: its query, and the columns of the table view (`--json` gives them all).
 * A row kept after Clerk deleted it (`deleted_at` set: soft deletes, or an app's foreign key
 * holds it, every personal field erased) shows `(deleted <time>)` in column `deletedIn`.
 */
interface Listing {
  title: string;
  query: string;
  columns: string[];
  deletedIn: string;
}

const USERS: Listing = {
  title: "public.users",
  query: `select id, clerk_id, email, first_name, last_name, image_url, username, phone_number,
  email_verified, external_id, public_metadata, unsafe_metadata, banned, locked, last_sign_in_at,
  deleted_at, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id, created_at, updated_at
from public.users
order by created_at, clerk_id`,
  columns: ["clerk_id", "email", "first_name", "last_name", "clerk_updated_at"],
  deletedIn: "email",
};

const ORGANIZATIONS: Listing = {
  title: "public.organizations with their members",
  query: `select o.clerk_id, o.name, o.slug, o.deleted_at, o.clerk_updated_at,
  coalesce(string_agg(m.user_id || ' (' || m.role || ')', ', ' order by m.user_id), '') as members
from public.organizations o
left join public.organization_memberships m on m.organization_id = o.clerk_id
group by o.clerk_id, o.name, o.slug, o.deleted_at, o.clerk_updated_at, o.created_at
order by o.created_at, o.clerk_id`,
  columns: ["clerk_id", "name", "slug", "members"],
  deletedIn: "slug",
};

type Row = Record<string, unknown>;

/** Runs `query` with postgres.js, as one simple-protocol message (see embedded_database.ts). */
async function readOverSocket(url: string, query: string): Promise<Row[]> {
  const sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => {} });
  try {
    return [...await sql.unsafe(query).simple()];
  } finally {
    await sql.end();
  }
}

async function readDirectly(query: string): Promise<Row[]> {
  try {
    await Deno.stat(new URL("PG_VERSION", PGLITE_DIR));
  } catch {
    throw new Error(
      `No embedded database in ${
        displayPath(PGLITE_DIR)
      }: run npm start first, or set DATABASE_URL`,
    );
  }
  const db = await PGlite.create(fileURLToPath(PGLITE_DIR));
  try {
    return (await db.query<Row>(query)).rows;
  } finally {
    await db.close();
  }
}

/** The rows of `query`, and where they were read from. */
async function readRows(query: string): Promise<{ rows: Row[]; source: string }> {
  const databaseUrl = Deno.env.get("DATABASE_URL")?.trim();
  if (databaseUrl) {
    const { protocol, host, pathname } = new URL(databaseUrl);
    return {
      rows: await readOverSocket(databaseUrl, query),
      source: `DATABASE_URL (${protocol}//${host}${pathname})`,
    };
  }
  const running = await readRunningServer();
  if (running?.databaseUrl !== undefined) {
    try {
      return {
        rows: await readOverSocket(running.databaseUrl, query),
        source: `the embedded database, through npm start (pid ${running.pid})`,
      };
    } catch (error) {
      // npm start did not stop cleanly and left its address: read the files instead.
      if ((error as { code?: string }).code !== "ECONNREFUSED") throw error;
    }
  }
  return {
    rows: await readDirectly(query),
    source: `the embedded database in ${displayPath(PGLITE_DIR)}`,
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  return value instanceof Date ? value.toISOString() : String(value);
}

/** The rows as psql prints them, a deleted row marked in `listing.deletedIn`. */
function table(rows: Row[], listing: Listing): string {
  const { columns, deletedIn } = listing;
  const cells = rows.map((row) =>
    columns.map((column) =>
      column === deletedIn && row.deleted_at != null
        ? `(deleted ${cell(row.deleted_at)})`
        : cell(row[column])
    )
  );
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((line) => line[index]!.length))
  );
  const line = (values: string[]) =>
    values.map((value, index) => value.padEnd(widths[index]!)).join(" | ").trimEnd();
  return [
    line(columns),
    widths.map((width) => "-".repeat(width)).join("-+-"),
    ...cells.map(line),
    `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`,
  ].join("\n");
}

const json = Deno.args.includes("--json");
const listing = Deno.args.includes("--orgs") ? ORGANIZATIONS : USERS;
const unknown = Deno.args.filter((arg) => arg !== "--json" && arg !== "--orgs");
if (unknown.length > 0) {
  console.error(`Unknown argument "${unknown[0]}"\n\nUsage: npm run users [-- --json] [--orgs]`);
  Deno.exit(2);
}
try {
  const { rows, source } = await readRows(listing.query);
  console.log(
    json
      ? JSON.stringify(rows, null, 2)
      : `${listing.title} in ${source}:\n${table(rows, listing)}`,
  );
} catch (error) {
  console.error((error as Error).message);
  Deno.exit(1);
}
