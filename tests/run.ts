/**
 * `npm test`: starts a PostgreSQL 17 from npm (or uses `TEST_DATABASE_URL`), migrates a
 * scratch template database with the Supabase CLI, runs the Deno tests (each module
 * clones the template) and the pgTAP files, drops what it made, and ends with
 * "N passed, N failed" on every path: a failure before the first test, a `deno test`
 * that fails without a failed test (a stray `only`, an error outside any test), Ctrl-C.
 *
 * Arguments pick what runs: test modules go to `deno test`, `.test.sql` files to pgTAP;
 * with none, everything runs.
 */
import { cloneDatabase, createMigratedDatabase, dropDatabases } from "../dev/database.ts";
import { CACHED_ONLY } from "../dev/function_process.ts";
import { prefetch } from "../dev/prefetch.ts";
import { openTestServer, type PostgresServer, SCRATCH_SETTINGS } from "../dev/postgres_server.ts";
import { installPgTap, runTapFile } from "./support/pgtap.ts";

const SQL_TESTS = "supabase/tests/database";

const prefix = `cws_test_${Date.now().toString(36)}_${Deno.pid}`;
const template = `${prefix}_template`;
const counts = { passed: 0, failed: 0, skipped: 0 };
let server: PostgresServer | undefined;
let denoTest: Deno.ChildProcess | undefined;
/** Set by Ctrl-C (or SIGTERM): the run stops where it is and reports what it has. */
let interrupted = false;

/** Runs `deno test` on `args`, echoing its output, and counts its results. */
async function denoTests(args: string[]): Promise<void> {
  denoTest = new Deno.Command(Deno.execPath(), {
    args: ["test", CACHED_ONLY, "--allow-all", ...args],
    env: { CWS_TEMPLATE_DATABASE: template, CWS_RUN_PREFIX: prefix },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  for await (const chunk of denoTest.stdout.pipeThrough(new TextDecoderStream())) {
    await Deno.stdout.write(new TextEncoder().encode(chunk));
    output += chunk;
  }
  const { success, code } = await denoTest.status;
  // deno test ends with "ok | 12 passed (3 steps) | 0 failed | 1 ignored (2s)" or "FAILED | …".
  const summary = output.match(
    /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/,
  );
  const [passed, failed, ignored] = [1, 2, 3].map((group) => Number(summary?.[group] ?? 0));
  counts.passed += passed!;
  counts.failed += failed!;
  counts.skipped += ignored!;
  // 130: Ctrl-C reached deno test before this process; the signal listener reports it.
  if (!success && failed === 0 && code !== 130 && !interrupted) {
    console.error(`deno test exited with ${code} without a failed test: counted as one failure`);
    counts.failed += 1;
  }
}

/** Runs the pgTAP `files` on a clone of the template. */
async function pgTapTests(files: string[]): Promise<void> {
  const url = await cloneDatabase(template, `${prefix}_pgtap`);
  await installPgTap(url);
  for (const file of files) {
    const { passed, failed } = await runTapFile(url, file);
    counts.passed += passed;
    counts.failed += failed;
  }
}

/** Every pgTAP file, in name order. */
async function allSqlTests(): Promise<string[]> {
  const files = [];
  for await (const entry of Deno.readDir(SQL_TESTS)) {
    if (entry.name.endsWith(".test.sql")) files.push(`${SQL_TESTS}/${entry.name}`);
  }
  return files.sort();
}

/** Drops the run's databases and stops the embedded server; once, whoever asks first. */
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    try {
      // An embedded server goes with everything on it.
      if (server?.external) await dropDatabases(prefix);
    } catch (error) {
      console.error(`Could not drop the run's databases (${prefix}_*):`, error);
    }
    await server?.[Symbol.asyncDispose]();
  })();
  return cleaning;
}

function printTotal(): void {
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : "";
  console.log(`${counts.passed} passed, ${counts.failed} failed${skipped}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping; the tests not finished are not counted`);
    try {
      denoTest?.kill("SIGTERM");
    } catch {
      // It had exited already.
    }
    counts.failed += 1;
    await cleanUp();
    printTotal();
    Deno.exit(130);
  });
}

const sqlArgs = Deno.args.filter((arg) => arg.endsWith(".sql"));
const denoArgs = Deno.args.filter((arg) => !arg.endsWith(".sql"));
const everything = Deno.args.length === 0;
try {
  await prefetch();
  server = await openTestServer(SCRATCH_SETTINGS);
  console.log(`Preparing ${template} with supabase db push on ${server.description}`);
  await createMigratedDatabase(template);
  if (everything || denoArgs.length > 0) {
    await denoTests(everything ? ["tests/"] : denoArgs);
  }
  if (everything || sqlArgs.length > 0) {
    await pgTapTests(everything ? await allSqlTests() : sqlArgs);
  }
} catch (error) {
  console.error(error);
  counts.failed += 1;
} finally {
  await cleanUp();
}
printTotal();
Deno.exit(counts.failed === 0 && counts.passed > 0 ? 0 : 1);
