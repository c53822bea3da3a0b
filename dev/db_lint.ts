/**
 * `npm run lint:db`: the real Supabase CLI's `supabase db lint` (plpgsql_check) on a
 * scratch database migrated as `npm test` migrates it, failing on warnings; then the
 * same lint on a planted broken function must fail and name it, so the gate is known to
 * be live. It needs a server with the plpgsql_check extension, which the embedded
 * PostgreSQL lacks: point TEST_DATABASE_URL at one (CI installs Debian's
 * postgresql-<version>-plpgsql-check on the machine's server). Exits non-zero on a failure.
 */
import postgres from "postgres";
import { createMigratedDatabase, dropDatabases, run } from "./database.ts";

if (!Deno.env.get("TEST_DATABASE_URL")) {
  console.error(
    "Set TEST_DATABASE_URL to a PostgreSQL server with plpgsql_check " +
      "(e.g. postgres://postgres@127.0.0.1:5432/postgres)",
  );
  Deno.exit(2);
}

/** `supabase db lint` on `url`, failing on warnings too; its output, or an error with it. */
function lint(url: string): Promise<string> {
  return run("supabase", [
    "db",
    "lint",
    "--db-url",
    `${url}?sslmode=disable`,
    "--level",
    "warning",
    "--fail-on",
    "warning",
  ]);
}

const name = `cws_lint_${Date.now().toString(36)}_${Deno.pid}`;
let failed = false;
try {
  const url = await createMigratedDatabase(name);
  const output = await lint(url);
  console.log(output.trim());
  if (!/Linting schema: clerk_sync[^]*Linting schema: public/.test(output)) {
    throw new Error("The lint did not cover the schemas clerk_sync and public");
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`
      create function public.broken() returns text language plpgsql
      as $$ begin return (select no_such_column from public.users limit 1); end $$`;
  } finally {
    await sql.end();
  }
  const planted = await lint(url).then(() => "", (error: Error) => error.message);
  if (!/public\.broken[^]*no_such_column/.test(planted)) {
    throw new Error(`The lint let a broken function through:\n${planted}`);
  }
  console.log("A planted broken function fails the lint: the gate is live");
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  failed = true;
} finally {
  await dropDatabases(name);
}
console.log(failed ? "supabase db lint: FAILED" : "supabase db lint: clean");
Deno.exit(failed ? 1 : 0);
