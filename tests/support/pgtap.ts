/**
 * The database tests (`supabase/tests/database/*.test.sql`) run without pg_prove or psql:
 * pgTAP 1.3.5 comes as plain SQL from npm (`@electric-sql/pglite-pgtap` ships it in its
 * tarball), and each file is sent as one simple query, its TAP lines read from the rows
 * the assertions return. The files stay as `pg_prove` and `supabase test db` run them.
 */
import postgres from "postgres";

const TARBALL = new URL(
  "../../node_modules/@electric-sql/pglite-pgtap/dist/pgtap.tar.gz",
  import.meta.url,
);
const SCRIPT = "share/postgresql/extension/pgtap--1.3.5.sql";
/**
 * The tests' helpers (schema `tests`): the first file in name order, which pg_prove and
 * `supabase test db` run before every other; installed with pgTAP so that a file also runs
 * alone. It is idempotent, and runs again in its turn with the others.
 */
const HOOKS = new URL(
  "../../supabase/tests/database/000-setup-tests-hooks.test.sql",
  import.meta.url,
);

/** Passed and failed assertions. */
export interface TapCounts {
  passed: number;
  failed: number;
}

/**
 * Makes pgTAP available in the database at `url`, in schema `extensions` as Supabase has it,
 * and the tests' helpers.
 */
export async function installPgTap(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [installed] = await sql`select 1 from pg_extension where extname = 'pgtap'`;
    if (!installed) await installPgTapScript(sql);
    await sql.unsafe(await Deno.readTextFile(HOOKS));
  } finally {
    await sql.end();
  }
}

/** Runs pgTAP's extension script from the npm tarball. */
async function installPgTapScript(sql: postgres.Sql): Promise<void> {
  const tar = await new Deno.Command("tar", {
    args: ["-xzOf", TARBALL.pathname, SCRIPT],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!tar.success) {
    throw new Error(
      `Cannot read pgTAP from ${TARBALL.pathname}: run \`npm install\`\n` +
        new TextDecoder().decode(tar.stderr),
    );
  }
  await sql.begin(async (tx) => {
    await tx.unsafe("set local search_path to extensions");
    await tx.unsafe(new TextDecoder().decode(tar.stdout));
  });
}

/** The TAP lines among a query's result rows: single text columns that read as TAP. */
function tapLines(results: unknown): string[] {
  const statements = Array.isArray(results) && Array.isArray(results[0]) ? results : [results];
  const lines: string[] = [];
  for (const rows of statements as Record<string, unknown>[][]) {
    for (const row of rows) {
      const values = Object.values(row);
      if (values.length !== 1 || typeof values[0] !== "string") continue;
      lines.push(...values[0].split("\n").filter((line) => /^(ok|not ok|1\.\.|#)/.test(line)));
    }
  }
  return lines;
}

/**
 * Runs the pgTAP file at `path` against `url`, printing its TAP lines as pg_prove
 * --verbose does. A file that dies or runs other than its plan counts as a failure.
 */
export async function runTapFile(url: string, path: string): Promise<TapCounts> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const counts = { passed: 0, failed: 0 };
  let lines: string[] = [];
  let died: string | undefined;
  try {
    lines = tapLines(await sql.unsafe(await Deno.readTextFile(path)));
  } catch (error) {
    died = error instanceof Error ? error.message : String(error);
  } finally {
    await sql.end();
  }
  console.log(`${path} ..`);
  let planned: number | undefined;
  for (const line of lines) {
    console.log(line);
    if (/^ok \d+/.test(line)) counts.passed += 1;
    else if (/^not ok \d+/.test(line)) counts.failed += 1;
    else if (/^1\.\.\d+/.test(line)) planned = Number(line.slice(3));
  }
  const ran = counts.passed + counts.failed;
  if (died !== undefined) {
    console.log(`# ${path} died after ${ran} tests: ${died}`);
    counts.failed += 1;
  } else if (planned === undefined || planned !== ran) {
    console.log(`# ${path} planned ${planned ?? "no"} tests but ran ${ran}`);
    counts.failed += 1;
  }
  console.log(counts.failed === 0 ? "ok" : `FAILED ${counts.failed}`);
  return counts;
}
