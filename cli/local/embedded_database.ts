/**
 * The embedded PostgreSQL of `npm start`: PGlite persisted in `.data/pglite`, given what
 * the Supabase platform creates before migrations (supabase_platform.sql), then
 * migrated by the real `supabase db push` through PGlite's socket server, so the
 * migrations are applied and recorded in supabase_migrations.schema_migrations exactly
 * as on a Supabase project.
 *
 * The socket stays open on 127.0.0.1 while `npm start` runs, for `npm run users`. PGlite
 * is one session: the socket server runs each protocol message of its one client in
 * turn with the function's own queries, so it is meant for single statements (as
 * `npm run users` sends) and for the migrations, which run before the function serves.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { fileURLToPath } from "node:url";
import { PGLITE_DIR, ROOT } from "./local_dev.ts";

const PLATFORM_SQL = new URL("../../dev/supabase_platform.sql", import.meta.url);
const SUPABASE_CLI = new URL("node_modules/.bin/supabase", ROOT);

/** An open embedded database. */
export interface EmbeddedDatabase {
  db: PGlite;
  /** The socket server's URL: postgres:// on 127.0.0.1, no password. */
  url: string;
  /** `"PostgreSQL 18.7 (PGlite 0.5.17)"`. */
  version: string;
  /** Migrations (`<version>_<name>`) that this start applied. */
  applied: string[];
  /** Migrations recorded in supabase_migrations.schema_migrations. */
  recorded: string[];
  /** Stops the socket server and closes PGlite, which flushes the data to disk. */
  close(): Promise<void>;
}

/** Opens (creating on first use) and migrates the embedded database. */
export async function openEmbeddedDatabase(): Promise<EmbeddedDatabase> {
  await Deno.mkdir(PGLITE_DIR, { recursive: true });
  const db = await PGlite.create(fileURLToPath(PGLITE_DIR));
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  const close = async () => {
    await server.stop();
    if (!db.closed) await db.close();
  };
  try {
    // Idempotent: it creates only what is missing, so every start may run it.
    await db.exec(await Deno.readTextFile(PLATFORM_SQL));
    await server.start();
    const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
    const before = await recordedMigrations(db);
    await pushMigrations(url);
    const recorded = await recordedMigrations(db);
    const [{ version }] = (await db.query<{ version: string }>(
      "select substring(version() from '^PostgreSQL [^ ]+ \\([^)]*\\)') as version",
    )).rows as [{ version: string }];
    return {
      db,
      url,
      version,
      applied: recorded.filter((migration) => !before.includes(migration)),
      recorded,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function recordedMigrations(db: PGlite): Promise<string[]> {
  const table = await db.query<{ exists: boolean }>(
    "select to_regclass('supabase_migrations.schema_migrations') is not null as exists",
  );
  if (!table.rows[0]?.exists) return [];
  const { rows } = await db.query<{ migration: string }>(
    "select version || '_' || name as migration from supabase_migrations.schema_migrations order by version",
  );
  return rows.map((row) => row.migration);
}

/** Runs `supabase db push` against `url`, failing with the CLI's output. */
async function pushMigrations(url: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(SUPABASE_CLI, {
      args: ["db", "push", "--db-url", `${url}?sslmode=disable`, "--yes"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(
      `Cannot run the Supabase CLI (node_modules/.bin/supabase): run npm install: ${
        (error as Error).message
      }`,
    );
  }
  if (!output.success) {
    const decoder = new TextDecoder();
    throw new Error(
      `supabase db push failed:\n${decoder.decode(output.stdout)}${decoder.decode(output.stderr)}`,
    );
  }
}
