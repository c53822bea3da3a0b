/**
 * `npm test`: migrates a scratch template database with the Supabase CLI, runs the
 * Deno tests (each module clones the template) and the pgTAP tests with pg_prove,
 * drops every scratch database, and ends with "N passed, N failed".
 *
 * Arguments are passed to `deno test` (e.g. a test file); with arguments, pgTAP is skipped.
 */
import {
  cloneDatabase,
  createMigratedDatabase,
  dropDatabases,
  run,
  SERVER_URL,
} from "./support/database.ts";

interface Counts {
  passed: number;
  failed: number;
}

const prefix = `cws_test_${Date.now().toString(36)}_${Deno.pid}`;
const template = `${prefix}_template`;

/** Runs a command, echoing its output while keeping it for the counts. */
async function tee(
  command: string | URL,
  args: string[],
  env: Record<string, string>,
): Promise<[boolean, string]> {
  const child = new Deno.Command(command, { args, env, stdout: "piped", stderr: "inherit" })
    .spawn();
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  return [(await child.status).success, text];
}

async function denoTests(args: string[]): Promise<Counts> {
  const env = { CWS_TEMPLATE_DATABASE: template, CWS_RUN_PREFIX: prefix };
  const [, output] = await tee(Deno.execPath(), [
    "test",
    "--allow-all",
    ...(args.length ? args : ["tests/"]),
  ], env);
  // deno test ends with "ok | 12 passed (3 steps) | 0 failed (2s)" or "FAILED | …".
  const summary = output.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  if (summary === null) return { passed: 0, failed: 1 };
  return { passed: Number(summary[1]), failed: Number(summary[2]) };
}

async function pgTapTests(): Promise<Counts> {
  const url = await cloneDatabase(template, `${prefix}_pgtap`);
  await run("psql", [url, "-qc", "create extension if not exists pgtap with schema extensions"]);
  const files: string[] = [];
  for await (const entry of Deno.readDir("supabase/tests/database")) {
    if (entry.name.endsWith(".test.sql")) files.push(`supabase/tests/database/${entry.name}`);
  }
  const server = new URL(url);
  const [ok, output] = await tee("pg_prove", [
    "--verbose",
    "--host",
    server.hostname,
    "--port",
    server.port || "5432",
    "--username",
    decodeURIComponent(server.username) || "postgres",
    "--dbname",
    server.pathname.slice(1),
    ...files.sort(),
  ], {});
  const passed = output.match(/^\s*ok \d+/gm)?.length ?? 0;
  const failed = output.match(/^\s*not ok \d+/gm)?.length ?? 0;
  return { passed, failed: failed === 0 && !ok ? 1 : failed };
}

const args = [...Deno.args];
let total: Counts = { passed: 0, failed: 0 };
try {
  console.log(`Preparing ${template} on ${new URL(SERVER_URL).host} with supabase db push`);
  await createMigratedDatabase(template);
  const results = [await denoTests(args)];
  if (args.length === 0) results.push(await pgTapTests());
  total = results.reduce((sum, counts) => ({
    passed: sum.passed + counts.passed,
    failed: sum.failed + counts.failed,
  }));
} catch (error) {
  console.error(error);
  total.failed += 1;
} finally {
  await dropDatabases(prefix);
}
console.log(`${total.passed} passed, ${total.failed} failed`);
Deno.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
