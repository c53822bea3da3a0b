/**
 * database.types.ts, the committed types of the sync's tables: what Supabase's generator
 * (cli/types/generate.ts) makes of the run's migrated template, byte for byte; an app's
 * own tables and schemas through the same generator; and `npm run types` as a process,
 * with its npm script's permissions.
 */
import assert from "node:assert/strict";
import { scratchDatabase } from "../dev/database.ts";
import { generateTypes } from "../cli/types/generate.ts";
import { runDeno } from "./support/run_deno.ts";

const ROOT = new URL("../", import.meta.url);
const COMMITTED = new URL("database.types.ts", ROOT);
const REGENERATE = "run `npm run types` and commit database.types.ts";

/** The committed file, or a failure saying how to make it. */
async function committedTypes(): Promise<string> {
  try {
    return await Deno.readTextFile(COMMITTED);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    assert.fail(`No database.types.ts at the repository's root: ${REGENERATE}`);
  }
}

/** Where `actual` first departs from `expected`: the line's number and both versions. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split("\n");
  const got = actual.split("\n");
  const line = want.findIndex((text, i) => text !== got[i]);
  const at = line === -1 ? want.length : line;
  return `first difference at line ${at + 1}:\n` +
    `  committed: ${JSON.stringify(want[at] ?? "(end of file)")}\n` +
    `  generated: ${JSON.stringify(got[at] ?? "(end of file)")}`;
}

/** The body of `name: { … }` in `types`, from its opening line to its closing brace. */
function block(types: string, indent: string, name: string): string {
  const start = types.indexOf(`\n${indent}${name}: {\n`);
  assert.ok(start !== -1, `no ${name} in:\n${types}`);
  const end = types.indexOf(`\n${indent}}`, start + 1);
  return types.slice(start, end);
}

/** The permissions of package.json's `types` script, so the command runs as npm runs it. */
async function scriptPermissions(): Promise<string[]> {
  const { scripts } = JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT)));
  return (scripts.types as string).split(" ").filter((word) => word.startsWith("--allow-"));
}

/** `npm run types -- …args` from the repository's folder, with the test server's URL. */
async function npmRunTypes(args: string[]) {
  const env: Record<string, string> = { TEST_DATABASE_URL: Deno.env.get("TEST_DATABASE_URL")! };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return await runDeno(
    [...await scriptPermissions(), "cli/types/types.ts", ...args],
    env,
    ROOT.pathname,
  );
}

Deno.test("database.types.ts is exactly what Supabase's generator makes of supabase/migrations", async () => {
  await using db = await scratchDatabase();
  const generated = await generateTypes(db.url);
  const committed = await committedTypes();
  assert.ok(
    generated === committed,
    `database.types.ts differs from the types of supabase/migrations: ${REGENERATE}.\n` +
      firstDifference(committed, generated),
  );
});

Deno.test("generateTypes() gives an app's own tables, with their relationships to the synced ones, in the schemas named", async () => {
  await using db = await scratchDatabase();
  await db.sql.unsafe(`
    create table public.projects (
      id bigint generated always as identity primary key,
      organization_id text not null references public.organizations (clerk_id),
      name text not null,
      archived_at timestamptz
    );
    create schema app;
    create type app.priority as enum ('low', 'high');
    create table app.notes (id bigint primary key, priority app.priority not null);
  `);
  const types = await generateTypes(db.url, { schemas: ["public", "app"] });

  const projects = block(types, "      ", "projects");
  for (
    const line of [
      "          archived_at: string | null\n          id: number\n",
      "          id?: never\n",
      'foreignKeyName: "projects_organization_id_fkey"',
      'referencedRelation: "organizations"',
      'referencedColumns: ["clerk_id"]',
    ]
  ) {
    assert.ok(projects.includes(line), `missing ${JSON.stringify(line)} in:\n${projects}`);
  }
  assert.ok(types.includes('      priority: "low" | "high"\n'), types);
  assert.ok(block(types, "  ", "app").includes("      notes: {\n"), types);
  // The committed file, generated before these tables, no longer matches: the check fails.
  assert.notEqual(types, await committedTypes());
  assert.doesNotMatch(await generateTypes(db.url), /\n {2}app: \{\n/);
});

Deno.test("npm run types writes the types of the sync's migrations, or with --db-url those of any database, to --out", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "cws_types_" });
  try {
    await t.step("the sync's schema, from supabase/migrations on a new database", async () => {
      const result = await npmRunTypes(["--out", `${dir}/sync.ts`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Wrote .*\/sync\.ts: schema public of supabase\/migrations on /);
      assert.equal(result.stderr, "");
      // The template is migrated as the command migrates its database: the same types.
      await using db = await scratchDatabase();
      assert.equal(await Deno.readTextFile(`${dir}/sync.ts`), await generateTypes(db.url));
    });

    await t.step("an app's database, with the schemas named", async () => {
      await using db = await scratchDatabase();
      await db.sql.unsafe(`create schema app; create table app.notes (id bigint primary key)`);
      const result = await npmRunTypes([
        "--db-url",
        db.url,
        "--schema",
        "public,app",
        "--out",
        `${dir}/app.ts`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        await Deno.readTextFile(`${dir}/app.ts`),
        await generateTypes(db.url, { schemas: ["public", "app"] }),
      );
    });

    await t.step("--db-url without --out: exit 2, naming --out, nothing written", async () => {
      const before = await committedTypes();
      const result = await npmRunTypes(["--db-url", "postgres://postgres@127.0.0.1:1/app"]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^With --db-url, name the file to write with --out/);
      assert.equal(await committedTypes(), before);
    });

    await t.step("an unreachable database: exit 1, saying what to check", async () => {
      const result = await npmRunTypes([
        "--db-url",
        "postgres://postgres:secret@127.0.0.1:1/app",
        "--out",
        `${dir}/none.ts`,
      ]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^Cannot read the catalog of postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/app: .*\nIs the server running/,
      );
      await assert.rejects(Deno.stat(`${dir}/none.ts`), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
