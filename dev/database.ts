/**
 * Scratch databases on the server of the run (dev/postgres_server.ts). The test runner
 * (tests/run.ts) migrates one template per run with the real Supabase CLI; each test
 * module clones it, so every module starts from the migrated schema and nothing else.
 */
import postgres from "postgres";

/** The server of the run: `npm test` and the benchmark set `TEST_DATABASE_URL`. */
function serverUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("No TEST_DATABASE_URL: run the tests with `npm test`");
  return url;
}

const ROOT = new URL("../", import.meta.url);
const PLATFORM_SQL = new URL("supabase_platform.sql", import.meta.url);

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string, user?: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  if (user !== undefined) {
    url.username = user;
    url.password = "";
  }
  return url.href;
}

/** Runs `fn` with a connection to the server's maintenance database. */
async function onServer<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Runs a command of the project (or on PATH), failing with its output. */
export async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const local = new URL(`node_modules/.bin/${command}`, ROOT);
  const exists = await Deno.stat(local).then(() => true, () => false);
  const output = await new Deno.Command(exists ? local : command, {
    args,
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed:\n${text}`);
  return text;
}

/**
 * Applies the migrations of the Supabase project in `workdir` (this one by default) to
 * the database at `url` with `supabase db push`, as users deploy; returns its output.
 */
export function pushMigrations(url: string, workdir?: string): Promise<string> {
  const project = workdir === undefined ? [] : ["--workdir", workdir];
  return run("supabase", ["db", "push", ...project, "--db-url", `${url}?sslmode=disable`, "--yes"]);
}

/**
 * Creates database `name` as a Supabase project has it before its migrations (roles,
 * auth.jwt(), default grants), then applies the migrations of `workdir` (this
 * project's by default) with {@linkcode pushMigrations}.
 */
export async function createMigratedDatabase(name: string, workdir?: string): Promise<string> {
  const url = await createPlatformDatabase(name);
  await pushMigrations(url, workdir);
  return url;
}

/** Creates database `name` with what the Supabase platform creates before migrations. */
async function createPlatformDatabase(name: string): Promise<string> {
  // Supabase's databases sort text as en-US, not as C: so must the tests, or an
  // ordering that relies on the database's collation would pass here and differ there.
  await onServer((sql) =>
    sql.unsafe(
      `create database "${name}" template template0 encoding 'UTF8' locale_provider icu icu_locale 'en-US'`,
    )
  );
  const url = databaseUrl(name);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(await Deno.readTextFile(PLATFORM_SQL));
  } finally {
    await sql.end();
  }
  await setSearchPath(name);
  return url;
}

/** The current definition of the sync's objects, one file per concern, applied in name order. */
const SCHEMAS = new URL("../supabase/schemas/", import.meta.url);

/**
 * Creates database `name` as a Supabase project has it before its migrations, then runs
 * the files of supabase/schemas in name order (as Supabase's declarative schemas are
 * applied): the sync as its current definition says, with no migration history.
 */
export async function createDeclaredDatabase(name: string): Promise<string> {
  const url = await createPlatformDatabase(name);
  const files = [...Deno.readDirSync(SCHEMAS)]
    .map((entry) => entry.name)
    .filter((file) => file.endsWith(".sql"))
    .sort();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const file of files) {
      await sql.unsafe(await Deno.readTextFile(new URL(file, SCHEMAS))).catch((error) => {
        throw new Error(`supabase/schemas/${file}: ${error.message}`, { cause: error });
      });
    }
  } finally {
    await sql.end();
  }
  return url;
}

/**
 * Gives database `name` Supabase's search_path, where extensions (pgTAP among them)
 * live. A database setting, which `create database … template` does not copy.
 */
function setSearchPath(name: string): Promise<unknown> {
  return onServer((sql) =>
    sql.unsafe(`alter database "${name}" set search_path to "$user", public, extensions`)
  );
}

/** Creates database `name` as a copy of `template`. */
export async function cloneDatabase(template: string, name: string): Promise<string> {
  for (let attempt = 1;; attempt++) {
    try {
      await onServer((sql) => sql.unsafe(`create database "${name}" template "${template}"`));
      await setSearchPath(name);
      return databaseUrl(name);
    } catch (error) {
      // Two clones of one template at the same moment: PostgreSQL refuses the second.
      if (attempt === 10 || (error as { code?: string }).code !== "55006") throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** Drops every database whose name starts with `prefix`. */
export function dropDatabases(prefix: string): Promise<void> {
  return onServer(async (sql) => {
    const rows = await sql`select datname from pg_database where starts_with(datname, ${prefix})`;
    for (const { datname } of rows) {
      await sql.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  });
}

/** A database cloned for one test module, with an owner connection. */
export interface ScratchDatabase extends AsyncDisposable {
  name: string;
  url: string;
  /** A connection as the owner (postgres), for setting up and reading back. */
  sql: postgres.Sql;
}

let clones = 0;

/** Clones the run's migrated template; `npm test` provides it. */
export async function scratchDatabase(): Promise<ScratchDatabase> {
  const template = Deno.env.get("CWS_TEMPLATE_DATABASE");
  const prefix = Deno.env.get("CWS_RUN_PREFIX");
  if (template === undefined || prefix === undefined) {
    throw new Error("Run the tests with `npm test` (tests/run.ts), which prepares the database");
  }
  const name = `${prefix}_${crypto.randomUUID().slice(0, 8)}_${++clones}`;
  const url = await cloneDatabase(template, name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async [Symbol.asyncDispose]() {
      await sql.end();
      await onServer((server) => server.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}
