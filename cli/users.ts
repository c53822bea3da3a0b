/**
 * `npm run users [--json]`: lists public.users, since Supabase Studio is not there
 * locally. Reads `DATABASE_URL` if set; else the embedded database, through the socket
 * of the running `npm start` (PGlite is one process's), or directly from `.data/pglite`
 * when `npm start` is not running.
 */
import { PGlite } from "@electric-sql/pglite";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { displayPath, PGLITE_DIR, readRunningServer } from "./local_dev.ts";

const QUERY = `select id, clerk_id, email, first_name, last_name, image_url, clerk_created_at,
  clerk_updated_at, clerk_event_at, svix_id, created_at, updated_at
from public.users
order by created_at, clerk_id`;

/** The columns of the table view; `--json` gives them all. */
const TABLE_COLUMNS = ["clerk_id", "email", "first_name", "last_name", "clerk_updated_at"];

type Row = Record<string, unknown>;

/** Runs QUERY with postgres.js, as one simple-protocol message (see embedded_database.ts). */
async function readOverSocket(url: string): Promise<Row[]> {
  const sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => {} });
  try {
    return [...await sql.unsafe(QUERY).simple()];
  } finally {
    await sql.end();
  }
}

async function readDirectly(): Promise<Row[]> {
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
    return (await db.query<Row>(QUERY)).rows;
  } finally {
    await db.close();
  }
}

/** The rows, and where they were read from. */
async function readUsers(): Promise<{ rows: Row[]; source: string }> {
  const databaseUrl = Deno.env.get("DATABASE_URL")?.trim();
  if (databaseUrl) {
    const { protocol, host, pathname } = new URL(databaseUrl);
    return {
      rows: await readOverSocket(databaseUrl),
      source: `DATABASE_URL (${protocol}//${host}${pathname})`,
    };
  }
  const running = await readRunningServer();
  if (running?.databaseUrl !== undefined) {
    try {
      return {
        rows: await readOverSocket(running.databaseUrl),
        source: `the embedded database, through npm start (pid ${running.pid})`,
      };
    } catch (error) {
      // npm start did not stop cleanly and left its address: read the files instead.
      if ((error as { code?: string }).code !== "ECONNREFUSED") throw error;
    }
  }
  return {
    rows: await readDirectly(),
    source: `the embedded database in ${displayPath(PGLITE_DIR)}`,
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  return value instanceof Date ? value.toISOString() : String(value);
}

/** The rows as psql prints them. */
function table(rows: Row[]): string {
  const cells = rows.map((row) => TABLE_COLUMNS.map((column) => cell(row[column])));
  const widths = TABLE_COLUMNS.map((column, index) =>
    Math.max(column.length, ...cells.map((line) => line[index]!.length))
  );
  const line = (values: string[]) =>
    values.map((value, index) => value.padEnd(widths[index]!)).join(" | ").trimEnd();
  return [
    line(TABLE_COLUMNS),
    widths.map((width) => "-".repeat(width)).join("-+-"),
    ...cells.map(line),
    `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`,
  ].join("\n");
}

const json = Deno.args.includes("--json");
const unknown = Deno.args.filter((arg) => arg !== "--json");
if (unknown.length > 0) {
  console.error(`Unknown argument "${unknown[0]}"\n\nUsage: npm run users [-- --json]`);
  Deno.exit(2);
}
try {
  const { rows, source } = await readUsers();
  console.log(json ? JSON.stringify(rows, null, 2) : `public.users in ${source}:\n${table(rows)}`);
} catch (error) {
  console.error((error as Error).message);
  Deno.exit(1);
}
