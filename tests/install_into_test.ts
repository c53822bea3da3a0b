/**
 * `npm run install-into`: cli/install/install_into.ts as a process, into Supabase projects made by
 * the real `supabase init` that hold their own migration, function and config: installed,
 * migrated with the real `supabase db push --workdir`, the installed function run by Deno
 * from its folder; the release it records, reruns, upgrades from an older copy of this
 * repository, a newer install it refuses to downgrade, migrations it never rewrites, user
 * edits, the sync's schema file in an app with supabase/schemas/, clashes followed through
 * the project's migrations, and the migration order.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { parse } from "smol-toml";
import { userEvent } from "../dev/clerk_events.ts";
import { createMigratedDatabase, dropDatabases, run } from "../dev/database.ts";
import { HOSTED_DENO, LOCAL_DENO } from "../dev/function_process.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";
import { sha256 } from "../cli/install/manifest.ts";
import { startProjectFunction } from "./support/project_function.ts";
import { type CommandResult, runDeno } from "./support/run_deno.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const FUNCTION_DIR = "supabase/functions/clerk-webhook";
const MIGRATIONS = [...Deno.readDirSync(`${ROOT}/supabase/migrations`)]
  .map((entry) => entry.name)
  .sort();
const FUNCTION_FILES = [...Deno.readDirSync(`${ROOT}/functions/clerk-webhook`)]
  .map((entry) => entry.name)
  .sort();
const SCHEMAS = [...Deno.readDirSync(`${ROOT}/supabase/schemas`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith(".sql"))
  .sort();
const SCHEMA_FILE = "supabase/schemas/00_clerk_webhook_sync.sql";
const MANIFEST = `${FUNCTION_DIR}/clerk-webhook-sync.json`;
/** This checkout's release. */
const VERSION = JSON.parse(Deno.readTextFileSync(`${ROOT}/package.json`)).version as string;
const IMPORT_MAP = JSON.parse(Deno.readTextFileSync(`${ROOT}/import_map.json`)).imports as Record<
  string,
  string
>;

const OWN_MIGRATION = "20260101000000_app_profiles.sql";
const OWN_MIGRATION_SQL =
  `-- The app's profiles. Not a clash: create table public.users is only mentioned here.
create schema app;
create table app.users (id bigint primary key);
create table public.profiles (
  id bigint generated always as identity primary key,
  clerk_user_id text not null
);
`;
const OWN_FUNCTION = `Deno.serve(() => new Response("hello"));\n`;
const OWN_SECTION = `
# The app's own function, which checks Supabase JWTs.
[functions.hello]
verify_jwt = true
`;

/** A Supabase project made by `supabase init`, holding its own migration, function and config. */
interface Project extends AsyncDisposable {
  dir: string;
  /** config.toml as the project had it before any install. */
  config: string;
}

async function supabaseInit(): Promise<Project> {
  const dir = await Deno.makeTempDir({ prefix: "cws_install_" });
  await run("supabase", ["init", "--workdir", dir]);
  await Deno.mkdir(`${dir}/supabase/migrations`, { recursive: true });
  await Deno.writeTextFile(`${dir}/supabase/migrations/${OWN_MIGRATION}`, OWN_MIGRATION_SQL);
  await Deno.mkdir(`${dir}/supabase/functions/hello`, { recursive: true });
  await Deno.writeTextFile(`${dir}/supabase/functions/hello/index.ts`, OWN_FUNCTION);
  await Deno.writeTextFile(`${dir}/supabase/functions/hello/deno.json`, `{ "imports": {} }\n`);
  // An app's package.json at the root, as a Next.js app has one.
  await Deno.writeTextFile(`${dir}/package.json`, `{ "name": "app", "private": true }\n`);
  await Deno.writeTextFile(`${dir}/supabase/config.toml`, OWN_SECTION, { append: true });
  const config = await Deno.readTextFile(`${dir}/supabase/config.toml`);
  return { dir, config, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** `npm run install-into -- <project> …args` of the repository at `root`, as its script runs it. */
function install(
  project: Pick<Project, "dir"> | undefined,
  args: string[] = [],
  root = ROOT,
): Promise<CommandResult> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "DENO_CERT", "SSL_CERT_FILE"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const target = project === undefined ? [] : [project.dir];
  return runDeno(
    [
      "--allow-read",
      "--allow-write",
      "--allow-env=INIT_CWD",
      "cli/install/install_into.ts",
      ...target,
      ...args,
    ],
    env,
    root,
  );
}

/** Every file under `dir` with its bytes and modification time. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(path: string): Promise<void> {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(full);
      else {
        const { mtime } = await Deno.stat(full);
        files.set(
          full.slice(dir.length + 1),
          `${mtime?.getTime()} ${await Deno.readTextFile(full)}`,
        );
      }
    }
  }
  await walk(dir);
  return files;
}

/** How {@linkcode olderRepository} differs from this one, besides its newest migration. */
interface OlderOptions {
  /** package.json's version (undefined: none); 0.9.0 by default. */
  version?: string | undefined;
  /** A migration the older release shipped with other content, as before releases. */
  editedMigration?: string;
}

/**
 * A copy of this repository as it was one release ago: its newest migration missing, a
 * module and a schema file different, package.json at another version.
 */
async function olderRepository(
  options: OlderOptions = { version: "0.9.0" },
): Promise<{ root: string; newest: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "cws_older_" });
  // package.json too: Deno resolves the same lock from it.
  const copy = await new Deno.Command("cp", {
    args: [
      "-R",
      ...["cli", "functions", "import_map.json", "deno.json", "deno.lock", "package.json"].map((
        path,
      ) => `${ROOT}/${path}`),
      `${root}/`,
    ],
  }).output();
  assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
  await Deno.mkdir(`${root}/supabase`);
  for (const dir of ["migrations", "schemas"]) {
    const copied = await new Deno.Command("cp", {
      args: ["-R", `${ROOT}/supabase/${dir}`, `${root}/supabase/`],
    }).output();
    assert.ok(copied.success, new TextDecoder().decode(copied.stderr));
  }
  const newest = MIGRATIONS.at(-1)!;
  await Deno.remove(`${root}/supabase/migrations/${newest}`);
  const previous = "\n-- As the previous release had it.\n";
  await Deno.writeTextFile(`${root}/functions/clerk-webhook/handler.ts`, previous, {
    append: true,
  });
  await Deno.writeTextFile(`${root}/supabase/schemas/${SCHEMAS.at(-1)}`, previous, {
    append: true,
  });
  if (options.editedMigration !== undefined) {
    await Deno.writeTextFile(`${root}/supabase/migrations/${options.editedMigration}`, previous, {
      append: true,
    });
  }
  const packageJson = JSON.parse(await Deno.readTextFile(`${root}/package.json`));
  if (options.version === undefined) delete packageJson.version;
  else packageJson.version = options.version;
  await Deno.writeTextFile(`${root}/package.json`, `${JSON.stringify(packageJson, null, 2)}\n`);
  return { root, newest, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

/** The project's manifest, parsed. */
async function manifestOf(
  project: Project,
): Promise<{ release?: { version?: string }; files: Record<string, string> }> {
  return JSON.parse(await Deno.readTextFile(`${project.dir}/${MANIFEST}`));
}

Deno.test("install-into installs into a project made by supabase init, next to its own migration, function and config; supabase db push --workdir migrates it; the installed function, run by Deno from its folder, syncs a signed event", async (t) => {
  await using project = await supabaseInit();
  const result = await install(project);
  assert.equal(result.code, 0, result.stderr);

  await t.step(
    "the function's modules, as in this repository, with a deno.json of pinned imports",
    async () => {
      for (const name of FUNCTION_FILES) {
        assert.deepEqual(
          await Deno.readFile(`${project.dir}/${FUNCTION_DIR}/${name}`),
          await Deno.readFile(`${ROOT}/functions/clerk-webhook/${name}`),
          name,
        );
        const source = await Deno.readTextFile(`${project.dir}/${FUNCTION_DIR}/${name}`);
        assert.doesNotMatch(
          source,
          /from "\.\.\/|import\("\.\.\//,
          `${name} reaches outside its folder`,
        );
      }
      const denoJson = JSON.parse(
        await Deno.readTextFile(`${project.dir}/${FUNCTION_DIR}/deno.json`),
      );
      assert.deepEqual(denoJson.imports, {
        "@supabase/supabase-js": IMPORT_MAP["@supabase/supabase-js"],
        jose: IMPORT_MAP.jose,
        postgres: IMPORT_MAP.postgres,
        svix: IMPORT_MAP.svix,
        zod: IMPORT_MAP.zod,
      });
      for (const specifier of Object.values(denoJson.imports as Record<string, string>)) {
        assert.match(specifier, /^npm:(@[^/]+\/)?[^@]+@\d+\.\d+\.\d+$/, "pinned exactly");
      }
      assert.equal(
        await Deno.readTextFile(`${project.dir}/supabase/functions/hello/index.ts`),
        OWN_FUNCTION,
      );
    },
  );

  await t.step("the migrations under their own names, next to the project's", async () => {
    const names = [...Deno.readDirSync(`${project.dir}/supabase/migrations`)].map((e) => e.name);
    assert.deepEqual(names.sort(), [OWN_MIGRATION, ...MIGRATIONS].sort());
    for (const name of MIGRATIONS) {
      assert.deepEqual(
        await Deno.readFile(`${project.dir}/supabase/migrations/${name}`),
        await Deno.readFile(`${ROOT}/supabase/migrations/${name}`),
      );
    }
  });

  await t.step(
    "config.toml keeps every comment, section and value, gains the function's section, and parses",
    async () => {
      const config = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
      assert.ok(config.startsWith(project.config), "the project's text is kept as it was");
      const before = parse(project.config);
      const after = parse(config) as { functions: Record<string, unknown> };
      // smol-toml's tables have no prototype.
      assert.deepEqual({ ...after.functions["clerk-webhook"] as object }, { verify_jwt: false });
      assert.deepEqual({ ...after.functions.hello as object }, { verify_jwt: true });
      delete after.functions["clerk-webhook"];
      assert.deepEqual(after, before);
      assert.ok(!/import_map|entrypoint/.test(config.slice(project.config.length)));
    },
  );

  await t.step("the output ends with the exact next steps, naming the release", () => {
    assert.ok(
      result.stdout.startsWith(`Installed clerk-webhook-sync ${VERSION} in ${project.dir}:\n`),
      result.stdout,
    );
    for (
      const line of [
        `Next steps, in ${project.dir} (clerk-webhook-sync ${VERSION}; CHANGELOG.md in ${ROOT} ` +
        "says what it brings):",
        "  supabase db push\n",
        "  supabase functions deploy clerk-webhook",
        "  supabase gen types typescript --linked > database.types.ts",
        "  supabase secrets set CLERK_WEBHOOK_SECRET=whsec_…",
        "  URL: https://<project-ref>.supabase.co/functions/v1/clerk-webhook",
        "  Events: user.created, user.updated, user.deleted, organization.created, " +
        "organization.updated, organization.deleted, organizationMembership.created, " +
        "organizationMembership.updated, organizationMembership.deleted",
        "npm run backfill",
        "npm run status",
        `  added ${FUNCTION_DIR}/index.ts`,
        `  added supabase/migrations/${MIGRATIONS[0]}`,
        "  added [functions.clerk-webhook] verify_jwt = false to supabase/config.toml",
      ]
    ) {
      assert.ok(result.stdout.includes(line), `missing "${line}" in:\n${result.stdout}`);
    }
    assert.ok(!result.stdout.includes("--include-all"), result.stdout);
  });

  await t.step("without supabase/schemas/ in the project, no schema file", async () => {
    await assert.rejects(Deno.stat(`${project.dir}/supabase/schemas`), Deno.errors.NotFound);
    assert.doesNotMatch(result.stdout, /supabase\/schemas|schema_paths|db diff/);
    assert.ok(!(SCHEMA_FILE in (await manifestOf(project)).files));
  });

  const name = `${Deno.env.get("CWS_RUN_PREFIX")}_install`;
  try {
    const url = await createMigratedDatabase(name, project.dir);
    await t.step(
      "supabase db push --workdir applies the project's migrations and the sync's",
      async () => {
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        try {
          const versions = await sql`
          select version from supabase_migrations.schema_migrations order by version`;
          assert.deepEqual(
            versions.map((row) => row.version),
            [OWN_MIGRATION, ...MIGRATIONS].map((file) => file.slice(0, 14)).sort(),
          );
          const tables = await sql`
          select table_schema || '.' || table_name as name from information_schema.tables
          where table_name in ('profiles', 'users') order by 1`;
          assert.deepEqual(tables.map((row) => row.name), [
            "app.users",
            "public.profiles",
            "public.users",
          ]);
        } finally {
          await sql.end();
        }
      },
    );

    for (const runtime of [LOCAL_DENO, HOSTED_DENO]) {
      await t.step({
        name: `on ${runtime.name}, the installed function syncs a signed user.created`,
        ignore: runtime.executable === undefined,
        fn: async () => {
          const secret = newSecret();
          await using server = await startProjectFunction(
            `${project.dir}/${FUNCTION_DIR}`,
            runtime,
            { DATABASE_URL: url, CLERK_WEBHOOK_SECRET: secret },
          );
          const id = `user_installed_${runtime === LOCAL_DENO ? "local" : "hosted"}`;
          const event = userEvent("user.created", {
            id,
            email: `${id}@example.com`,
            firstName: "Ada",
            updatedAt: Date.now() - 1000,
          });
          const answer = await deliver(server.url, event, { secret });
          assert.deepEqual(answer, { status: 200, body: { outcome: "applied" } }, server.output());
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          try {
            const rows =
              await sql`select email, first_name from public.users where clerk_id = ${id}`;
            assert.deepEqual([...rows], [{ email: `${id}@example.com`, first_name: "Ada" }]);
          } finally {
            await sql.end();
          }
        },
      });
    }
    await t.step("running it wrote no lock file into the function's folder", async () => {
      await assert.rejects(
        Deno.stat(`${project.dir}/${FUNCTION_DIR}/deno.lock`),
        Deno.errors.NotFound,
      );
    });
  } finally {
    await dropDatabases(name);
  }
});

Deno.test("install-into run again changes nothing, says so, and leaves every file byte for byte as it was", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  const before = await snapshot(project.dir);
  for (const args of [[], ["--upgrade"]]) {
    const again = await install(project, args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Nothing to change: .* has this version of clerk-webhook-sync/);
    assert.deepEqual(await snapshot(project.dir), before);
  }
});

Deno.test("install-into --upgrade brings an older install up to date and says what it changed, from which release to which; without --upgrade it says to use it and writes nothing", async () => {
  await using project = await supabaseInit();
  await using older = await olderRepository();
  const first = await install(project, [], older.root);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(!first.stdout.includes(older.newest));
  assert.deepEqual((await manifestOf(project)).release, { version: "0.9.0" });
  // The user edits a module the new release leaves as it was.
  const edited = `${project.dir}/${FUNCTION_DIR}/body.ts`;
  await Deno.writeTextFile(edited, "// Tuned by the app.\n", { append: true });
  const mine = await Deno.readTextFile(edited);

  const before = await snapshot(project.dir);
  const refused = await install(project);
  assert.equal(refused.code, 1);
  assert.ok(
    refused.stderr.includes(
      "holds an older release of clerk-webhook-sync than this checkout " +
        `(this checkout is ${VERSION}; the project has 0.9.0). Rerun with --upgrade to:`,
    ),
    refused.stderr,
  );
  assert.ok(refused.stderr.includes(`  added supabase/migrations/${older.newest}`), refused.stderr);
  assert.ok(refused.stderr.includes(`  updated ${FUNCTION_DIR}/handler.ts`), refused.stderr);
  assert.match(refused.stderr, /Nothing was written\.$/m);
  assert.deepEqual(await snapshot(project.dir), before);

  const upgraded = await install(project, ["--upgrade"]);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.ok(
    upgraded.stdout.startsWith(
      `Upgraded clerk-webhook-sync in ${project.dir} from 0.9.0 to ${VERSION}:\n`,
    ),
    upgraded.stdout,
  );
  assert.deepEqual((await manifestOf(project)).release, { version: VERSION });
  assert.ok(
    upgraded.stdout.includes(`  added supabase/migrations/${older.newest}`),
    upgraded.stdout,
  );
  assert.ok(upgraded.stdout.includes(`  updated ${FUNCTION_DIR}/handler.ts`), upgraded.stdout);
  assert.ok(
    upgraded.stdout.includes(`  kept your edit of ${FUNCTION_DIR}/body.ts`),
    upgraded.stdout,
  );
  assert.deepEqual(
    await Deno.readFile(`${project.dir}/${FUNCTION_DIR}/handler.ts`),
    await Deno.readFile(`${ROOT}/functions/clerk-webhook/handler.ts`),
  );
  assert.deepEqual(
    await Deno.readFile(`${project.dir}/supabase/migrations/${older.newest}`),
    await Deno.readFile(`${ROOT}/supabase/migrations/${older.newest}`),
  );
  assert.equal(await Deno.readTextFile(edited), mine);
  const config = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
  assert.equal(config.match(/\[functions\.clerk-webhook\]/g)?.length, 1);

  const after = await snapshot(project.dir);
  const again = await install(project, ["--upgrade"]);
  assert.match(again.stdout, /^Nothing to change/);
  assert.deepEqual(await snapshot(project.dir), after);
});

Deno.test("install-into --upgrade does not silently replace a file the user edited: it names it and asks for --force", async () => {
  await using project = await supabaseInit();
  await using older = await olderRepository();
  assert.equal((await install(project, [], older.root)).code, 0);
  const handler = `${project.dir}/${FUNCTION_DIR}/handler.ts`;
  await Deno.writeTextFile(handler, "// The app's own change.\n", { append: true });

  const before = await snapshot(project.dir);
  const refused = await install(project, ["--upgrade"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /differ from what it installed and from what it ships/);
  assert.ok(refused.stderr.includes(`  ${FUNCTION_DIR}/handler.ts\n`), refused.stderr);
  assert.match(refused.stderr, /rerun with --force/);
  assert.deepEqual(await snapshot(project.dir), before);

  const forced = await install(project, ["--upgrade", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(forced.stdout.includes(`  replaced your version of ${FUNCTION_DIR}/handler.ts`));
  assert.deepEqual(
    await Deno.readFile(handler),
    await Deno.readFile(`${ROOT}/functions/clerk-webhook/handler.ts`),
  );
});

Deno.test("install-into records the release it installed in the manifest, and none when package.json has no version", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  assert.deepEqual((await manifestOf(project)).release, { version: VERSION });

  await using unversioned = await olderRepository({ version: undefined });
  await using other = await supabaseInit();
  const result = await install(other, [], unversioned.root);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!("release" in await manifestOf(other)), "no release without a version");
  assert.match(result.stdout, /^Installed clerk-webhook-sync in /);
});

Deno.test("install-into never rewrites a migration: one the project has with other content than this checkout ships is named, with why and what to do, with or without --upgrade and --force, and nothing is written; an edit of a migration the sync ships unchanged is kept", async (t) => {
  await using project = await supabaseInit();
  // The older release shipped this migration with other content (edited in place, as
  // before releases); the project's database applied that content.
  const changed = MIGRATIONS[1]!;
  await using older = await olderRepository({ version: "0.9.0", editedMigration: changed });
  assert.equal((await install(project, [], older.root)).code, 0);
  // The user edits a migration that this checkout ships as it was installed.
  const mine = `${project.dir}/supabase/migrations/${MIGRATIONS[0]}`;
  await Deno.writeTextFile(mine, "-- Reviewed by the app.\n", { append: true });
  const changedPath = `supabase/migrations/${changed}`;

  await t.step("as installed, but shipped with other content: refused", async () => {
    const before = await snapshot(project.dir);
    for (const args of [[], ["--upgrade"], ["--upgrade", "--force"]]) {
      const refused = await install(project, args);
      assert.equal(refused.code, 1, `${args}: ${refused.stdout}`);
      assert.ok(
        refused.stderr.startsWith(
          `Cannot upgrade clerk-webhook-sync in ${project.dir}: these migrations differ from ` +
            "the ones this checkout ships under the same names (this checkout is " +
            `${VERSION}; the project has 0.9.0):\n` +
            `  ${changedPath} (as installed: the sync shipped other content under this name)\n` +
            "install-into never rewrites a migration, with or without --upgrade or --force: " +
            "supabase db push never runs a migration version it has applied again, so every " +
            "database that applied the project's version would silently differ from the code; " +
            "and a released migration never changes.\n" +
            "Keep the files as they are and report this message to clerk-webhook-sync's " +
            "maintainers: a change to a released migration is fixed by a new migration, not " +
            "by an edit.\nNothing was written.\n",
        ),
        refused.stderr,
      );
      assert.ok(!refused.stderr.includes(MIGRATIONS[0]!), "the harmless edit is not named");
      assert.deepEqual(await snapshot(project.dir), before);
    }
  });

  await t.step(
    "edited by the user, and shipped with other content: refused, restore it",
    async () => {
      await Deno.writeTextFile(`${project.dir}/${changedPath}`, "-- Mine.\n", { append: true });
      const before = await snapshot(project.dir);
      const refused = await install(project, ["--upgrade", "--force"]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.ok(
        refused.stderr.includes(`  ${changedPath} (edited since it was installed)\n`),
        refused.stderr,
      );
      assert.ok(
        refused.stderr.includes(
          "If the difference is your own edit and no database has applied it, restore the " +
            "sync's version and install again, e.g.\n" +
            `  cp ${ROOT}/${changedPath} ${project.dir}/${changedPath}\n` +
            "Otherwise keep the files as they are and report this message",
        ),
        refused.stderr,
      );
      assert.deepEqual(await snapshot(project.dir), before);
    },
  );

  await t.step(
    "restored as the refusal says: upgraded, the user's harmless edit kept",
    async () => {
      await Deno.copyFile(`${ROOT}/${changedPath}`, `${project.dir}/${changedPath}`);
      const upgraded = await install(project, ["--upgrade"]);
      assert.equal(upgraded.code, 0, upgraded.stderr);
      assert.ok(
        upgraded.stdout.includes(`  kept your edit of supabase/migrations/${MIGRATIONS[0]}\n`),
        upgraded.stdout,
      );
      assert.match(await Deno.readTextFile(mine), /-- Reviewed by the app\.\n$/);
    },
  );
});

/** Makes `project` declare its schema in supabase/schemas/, with a file of its own. */
async function declareSchema(project: Project): Promise<void> {
  await Deno.mkdir(`${project.dir}/supabase/schemas`);
  await Deno.writeTextFile(
    `${project.dir}/supabase/schemas/profiles.sql`,
    "create table public.profiles (\n  id bigint primary key,\n" +
      "  clerk_user_id text references public.users (clerk_id)\n);\n",
  );
}

/** The catalog of the sync's objects in the database at `url` (dev/catalog.sql). */
async function catalogOf(url: string): Promise<unknown> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(await Deno.readTextFile(`${ROOT}/dev/catalog.sql`));
    return row!.catalog;
  } finally {
    await sql.end();
  }
}

Deno.test("install-into, in a project with supabase/schemas/, installs the sync's schema as one file that sorts first, built from this repository's schema files in name order; it builds the same database as the sync's migrations", async (t) => {
  await using project = await supabaseInit();
  // Only the sync's migrations, so that the databases compare alike.
  await Deno.remove(`${project.dir}/supabase/migrations/${OWN_MIGRATION}`);
  await declareSchema(project);
  const result = await install(project);
  assert.equal(result.code, 0, result.stderr);
  const text = await Deno.readTextFile(`${project.dir}/${SCHEMA_FILE}`);

  await t.step(
    "each of the repository's schema files, in name order, headed by its name",
    async () => {
      let at = 0;
      for (const name of SCHEMAS) {
        const part = `-- From clerk-webhook-sync's supabase/schemas/${name}\n\n` +
          await Deno.readTextFile(`${ROOT}/supabase/schemas/${name}`);
        const found = text.indexOf(part, at);
        assert.ok(found >= at, `${name} missing or out of order`);
        at = found + part.length;
      }
      const names = [...Deno.readDirSync(`${project.dir}/supabase/schemas`)].map((e) => e.name);
      assert.deepEqual(names.sort(), ["00_clerk_webhook_sync.sql", "profiles.sql"]);
    },
  );

  await t.step("tracked in the manifest, named in the output and the next steps", async () => {
    assert.equal(
      (await manifestOf(project)).files[SCHEMA_FILE],
      await sha256(await Deno.readFile(`${project.dir}/${SCHEMA_FILE}`)),
    );
    for (
      const line of [
        `  added ${SCHEMA_FILE}\n`,
        `The sync's schema is in ${SCHEMA_FILE}, next to yours: keep it, or\n` +
        "supabase db diff would plan to drop the sync's objects (install-into --upgrade " +
        "replaces it).\n",
      ]
    ) {
      assert.ok(result.stdout.includes(line), `missing "${line}" in:\n${result.stdout}`);
    }
    // supabase init leaves schema_paths empty: the CLI reads ./schemas/*.sql in name order.
    assert.doesNotMatch(result.stdout, /schema_paths/);
    const config = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
    assert.ok(config.startsWith(project.config), "config.toml is only appended to");
  });

  const prefix = `${Deno.env.get("CWS_RUN_PREFIX")}_install_schema`;
  const declared = await Deno.makeTempDir({ prefix: "cws_declared_" });
  try {
    await t.step("the file, applied alone, builds what the sync's migrations build", async () => {
      // The schema file applied as the only migration of an empty project, by the real CLI.
      await run("supabase", ["init", "--workdir", declared]);
      await Deno.mkdir(`${declared}/supabase/migrations`);
      await Deno.writeTextFile(`${declared}/supabase/migrations/20000101000000_declared.sql`, text);
      const fromSchema = await catalogOf(await createMigratedDatabase(`${prefix}_d`, declared));
      const fromMigrations = await catalogOf(
        await createMigratedDatabase(`${prefix}_m`, project.dir),
      );
      assert.deepEqual(fromSchema, fromMigrations);
    });
  } finally {
    await dropDatabases(prefix);
    await Deno.remove(declared, { recursive: true });
  }
});

Deno.test("install-into --upgrade replaces the sync's schema file as installed, and an edited one only with --force", async () => {
  await using project = await supabaseInit();
  await declareSchema(project);
  await using older = await olderRepository();
  assert.equal((await install(project, [], older.root)).code, 0);
  const schemaFile = `${project.dir}/${SCHEMA_FILE}`;
  assert.match(await Deno.readTextFile(schemaFile), /As the previous release had it/);

  const refused = await install(project);
  assert.equal(refused.code, 1);
  assert.ok(refused.stderr.includes(`  updated ${SCHEMA_FILE}\n`), refused.stderr);
  const upgraded = await install(project, ["--upgrade"]);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.ok(upgraded.stdout.includes(`  updated ${SCHEMA_FILE}\n`), upgraded.stdout);
  const current = await Deno.readTextFile(schemaFile);
  assert.doesNotMatch(current, /As the previous release had it/);

  // Installed from the older release again, then edited by the user.
  await using other = await supabaseInit();
  await declareSchema(other);
  assert.equal((await install(other, [], older.root)).code, 0);
  await Deno.writeTextFile(`${other.dir}/${SCHEMA_FILE}`, "-- Mine.\n", { append: true });
  const before = await snapshot(other.dir);
  const edited = await install(other, ["--upgrade"]);
  assert.equal(edited.code, 1);
  assert.ok(edited.stderr.includes(`\n  ${SCHEMA_FILE}\n`), edited.stderr);
  assert.match(edited.stderr, /rerun with --force/);
  assert.deepEqual(await snapshot(other.dir), before);
  const forced = await install(other, ["--upgrade", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(await Deno.readTextFile(`${other.dir}/${SCHEMA_FILE}`), current);
});

Deno.test("install-into leaves a schema_paths the project sets in config.toml as it is, and says to list the sync's schema file first; one that is not a list is refused", async () => {
  for (
    const [paths, step] of [
      [
        `["./schemas/profiles.sql"]`,
        `  schema_paths = ["./schemas/00_clerk_webhook_sync.sql", "./schemas/profiles.sql"]\n`,
      ],
      [`["./schemas/*.sql"]`, undefined],
    ] as const
  ) {
    await using project = await supabaseInit();
    await declareSchema(project);
    const config = project.config.replace(/^schema_paths = \[\]$/m, `schema_paths = ${paths}`);
    assert.notEqual(config, project.config, "supabase init writes schema_paths = []");
    await Deno.writeTextFile(`${project.dir}/supabase/config.toml`, config);
    const result = await install(project);
    assert.equal(result.code, 0, result.stderr);
    const after = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
    assert.ok(after.startsWith(config), "config.toml is only appended to");
    assert.ok(!after.slice(config.length).includes("schema_paths"));
    if (step === undefined) assert.doesNotMatch(result.stdout, /schema_paths/, paths);
    else {
      assert.ok(
        result.stdout.includes(
          "Your supabase/config.toml sets [db.migrations] schema_paths, which install-into " +
            "leaves as\nyou wrote it: list the sync's schema file first there, or supabase db " +
            "diff, which reads\nonly the files listed, would plan to drop the sync's objects:\n" +
            step,
        ),
        result.stdout,
      );
    }
  }

  await using project = await supabaseInit();
  await declareSchema(project);
  await Deno.writeTextFile(
    `${project.dir}/supabase/config.toml`,
    project.config.replace(/^schema_paths = \[\]$/m, 'schema_paths = "./schemas"'),
  );
  const before = await snapshot(project.dir);
  const refused = await install(project);
  assert.equal(refused.code, 1, refused.stdout);
  assert.ok(
    refused.stderr.includes(
      "  supabase/config.toml sets [db.migrations] schema_paths to something other than a list " +
        'of paths: make it one (e.g. schema_paths = ["./schemas/*.sql"]) or remove it, then ' +
        "install again\n",
    ),
    refused.stderr,
  );
  assert.deepEqual(await snapshot(project.dir), before);
});

Deno.test("install-into refuses, writing nothing, when the project defines what the sync would create, naming the file and line", async (t) => {
  const migration = (sql: string) => async (project: Project) => {
    await Deno.writeTextFile(`${project.dir}/supabase/migrations/20260102000000_mine.sql`, sql);
  };
  const cases: [string, (project: Project) => Promise<void>, RegExp][] = [
    [
      "a users table in public",
      migration("-- Users.\n\ncreate table if not exists public.users (id uuid primary key);\n"),
      /supabase\/migrations\/20260102000000_mine\.sql:3 creates table public\.users, which the sync's 20261127120000_clerk_user_sync\.sql creates too/,
    ],
    [
      "an organizations table, unqualified and quoted",
      migration('CREATE TABLE "organizations" (id text);\n'),
      /20260102000000_mine\.sql:1 creates table public\.organizations, which the sync's 20261202100000_clerk_organizations\.sql/,
    ],
    [
      "an organization_memberships table over two lines",
      migration("create table\n  public.organization_memberships (id text);\n"),
      /20260102000000_mine\.sql:1 creates table public\.organization_memberships/,
    ],
    [
      "a users_private view",
      migration("select 1;\ncreate or replace view public.users_private as select 1 as id;\n"),
      /20260102000000_mine\.sql:2 creates view public\.users_private/,
    ],
    [
      "schema clerk_sync",
      migration("create schema if not exists clerk_sync;\n"),
      /20260102000000_mine\.sql:1 creates schema clerk_sync/,
    ],
    [
      "schema clerk",
      migration("\ncreate schema clerk;\n"),
      /20260102000000_mine\.sql:2 creates schema clerk,[^]*alter schema clerk rename to app_clerk;/,
    ],
    [
      "a function of the sync's",
      migration(
        "create function public.apply_clerk_events(p jsonb) returns jsonb\n" +
          "language sql as $$ select p; $$;\n",
      ),
      /20260102000000_mine\.sql:1 creates function public\.apply_clerk_events, which the sync's 20261202110000_clerk_batch_apply\.sql/,
    ],
    [
      "a table renamed to users, and one moved into public",
      migration(
        "create table public.people (id text);\nalter table people rename to users;\n" +
          "create schema app;\ncreate table app.organizations (id text);\n" +
          "alter table app.organizations set schema public;\n",
      ),
      /20260102000000_mine\.sql:2 creates table public\.users[^]*20260102000000_mine\.sql:5 creates table public\.organizations/,
    ],
    [
      "a table created in a do block",
      migration(
        "do $$\nbegin\n  if to_regclass('public.users') is null then\n" +
          "    create table public.users (id text);\n  end if;\nend\n$$;\n",
      ),
      /20260102000000_mine\.sql:4 creates table public\.users/,
    ],
    [
      "a users table created after the sync's migrations",
      async (project) => {
        await Deno.writeTextFile(
          `${project.dir}/supabase/migrations/20991231000000_users.sql`,
          "create table if not exists public.users (id uuid primary key);\n",
        );
      },
      /20991231000000_users\.sql:1 creates table public\.users, which the sync's 20261127120000_clerk_user_sync\.sql creates before it[^]*give yours another name in that migration[^]*alter table if exists public\.users rename to app_users;/,
    ],
    [
      "another function at supabase/functions/clerk-webhook",
      async (project) => {
        await Deno.mkdir(`${project.dir}/${FUNCTION_DIR}`, { recursive: true });
        await Deno.writeTextFile(`${project.dir}/${FUNCTION_DIR}/index.ts`, OWN_FUNCTION);
      },
      /supabase\/functions\/clerk-webhook holds a function that clerk-webhook-sync did not install/,
    ],
    [
      "a clerk-webhook section checking JWTs in config.toml",
      async (project) => {
        await Deno.writeTextFile(
          `${project.dir}/supabase/config.toml`,
          "\n[functions.clerk-webhook]\nverify_jwt = true\n",
          { append: true },
        );
      },
      /supabase\/config\.toml:\d+ has \[functions\.clerk-webhook\] already: set verify_jwt = false/,
    ],
  ];
  for (const [name, prepare, message] of cases) {
    await t.step(name, async () => {
      await using project = await supabaseInit();
      await prepare(project);
      const before = await snapshot(project.dir);
      const result = await install(project);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        /^Cannot install clerk-webhook-sync into .*: it already defines what the sync creates\./,
      );
      assert.match(result.stderr, message);
      assert.match(result.stderr, /then install again/);
      assert.match(result.stderr, /Nothing was written\.$/m);
      assert.deepEqual(await snapshot(project.dir), before);
    });
  }
});

Deno.test("install-into follows the project's migrations in name order: the rename its refusal prints, made as printed, lets it install, and supabase db push then migrates a fresh database", async (t) => {
  await using project = await supabaseInit();
  const migrations = `${project.dir}/supabase/migrations`;
  await Deno.writeTextFile(
    `${migrations}/20260102000000_people.sql`,
    "create table public.users (id bigint primary key, nickname text);\n",
  );
  const refused = await install(project);
  assert.equal(refused.code, 1, refused.stdout);
  const advice = refused.stderr.match(/e\.g\. (supabase\/migrations\/\S+\.sql) with:\n\s+(.+)\n/);
  assert.ok(advice, refused.stderr);
  const [, file, statement] = advice;
  assert.equal(file, "supabase/migrations/20261127115959_rename_users.sql");
  assert.equal(statement, "alter table public.users rename to app_users;");

  await t.step("a rename dated after the sync's migrations is named, and refused", async () => {
    const late = `${migrations}/20991231000000_rename_users.sql`;
    await Deno.writeTextFile(late, `${statement}\n`);
    const again = await install(project);
    assert.equal(again.code, 1, again.stdout);
    assert.ok(
      again.stderr.includes(
        "supabase/migrations/20260102000000_people.sql:1 creates table public.users, which the " +
          "sync's 20261127120000_clerk_user_sync.sql creates too; your " +
          "supabase/migrations/20991231000000_rename_users.sql:1 renames it, but sorts after " +
          "20261127120000_clerk_user_sync.sql",
      ),
      again.stderr,
    );
    assert.ok(again.stderr.includes(`e.g. ${file}, then install again`), again.stderr);
    await Deno.remove(late);
  });

  await t.step("the rename written as printed: installed", async () => {
    await Deno.writeTextFile(`${project.dir}/${file}`, `${statement}\n`);
    const installed = await install(project);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /^Installed clerk-webhook-sync \d+\.\d+\.\d+ in /);
    assert.equal(installed.stderr, "");
  });

  const name = `${Deno.env.get("CWS_RUN_PREFIX")}_install_rename`;
  try {
    await t.step(
      "supabase db push migrates a fresh database: the app's table and the sync's",
      async () => {
        const url = await createMigratedDatabase(name, project.dir);
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        try {
          const columns = await sql`
          select table_name, column_name from information_schema.columns
          where table_schema = 'public' and table_name in ('app_users', 'users')
            and column_name in ('nickname', 'clerk_id')
          order by 1, 2`;
          assert.deepEqual(columns.map((row) => `${row.table_name}.${row.column_name}`), [
            "app_users.nickname",
            "users.clerk_id",
          ]);
        } finally {
          await sql.end();
        }
      },
    );
  } finally {
    await dropDatabases(name);
  }
});

Deno.test("install-into warns, naming the file, about a migration that refers to the sync's objects but sorts before the sync's migrations, and installs", async (t) => {
  await using project = await supabaseInit();
  const early = "20240101000000_profiles.sql";
  await Deno.writeTextFile(
    `${project.dir}/supabase/migrations/${early}`,
    "-- The app's profiles, written before the sync was installed.\n" +
      "create table public.profiles (\n  id bigint primary key,\n" +
      "  clerk_user_id text references public.users (clerk_id)\n);\n",
  );
  // After the sync's migrations, as the README shows: not warned about.
  await Deno.writeTextFile(
    `${project.dir}/supabase/migrations/20991231000000_plan.sql`,
    "alter table public.users add column plan text " +
      "generated always as (public_metadata ->> 'plan') stored;\n",
  );
  const result = await install(project);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Installed clerk-webhook-sync \d+\.\d+\.\d+ in /);
  const warnings = result.stderr.match(/^Warning: .*$/gm) ?? [];
  assert.equal(warnings.length, 1, result.stderr);
  assert.ok(
    warnings[0]!.startsWith(
      `Warning: supabase/migrations/${early}:4 refers to public.users, which the sync's ` +
        "20261127120000_clerk_user_sync.sql creates, and that migration sorts after this one: " +
        "supabase db push applies migrations in name order, so on a fresh database",
    ),
    warnings[0],
  );
  assert.ok(warnings[0]!.includes('fails with relation "public.users" does not exist'));
  assert.ok(warnings[0]!.includes("Rename this migration to sort after"), warnings[0]);

  const name = `${Deno.env.get("CWS_RUN_PREFIX")}_install_order`;
  try {
    await t.step("what it warns about: supabase db push on a fresh database fails", async () => {
      await assert.rejects(
        createMigratedDatabase(name, project.dir),
        /relation "public\.users" does not exist/,
      );
    });
  } finally {
    await dropDatabases(name);
  }

  await t.step("renamed to sort after the sync's migrations, as it says: no warning", async () => {
    await Deno.rename(
      `${project.dir}/supabase/migrations/${early}`,
      `${project.dir}/supabase/migrations/20261210000000_profiles.sql`,
    );
    const again = await install(project);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, "");
  });
});

/**
 * Makes the install in `project` look as a newer release leaves it: one more migration
 * (none when `migration` is false), and `release` recorded (undefined: none).
 */
async function installNewerRelease(
  project: Project,
  release: object | undefined,
  migration = true,
): Promise<string> {
  const next = "supabase/migrations/20991231000000_clerk_next_release.sql";
  const manifestPath = `${project.dir}/${MANIFEST}`;
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  if (migration) {
    await Deno.writeTextFile(`${project.dir}/${next}`, "select 1;\n");
    manifest.files[next] = await sha256(await Deno.readFile(`${project.dir}/${next}`));
  }
  // The newer release's handler.ts: as installed, so an upgrade would replace it.
  const handler = `${FUNCTION_DIR}/handler.ts`;
  await Deno.writeTextFile(`${project.dir}/${handler}`, "// The next release.\n", { append: true });
  manifest.files[handler] = await sha256(await Deno.readFile(`${project.dir}/${handler}`));
  if (release === undefined) delete manifest.release;
  else manifest.release = release;
  await Deno.writeTextFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return next;
}

Deno.test("install-into refuses to take a newer release back to this checkout's, with or without --upgrade and --force, and writes nothing", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  // No version recorded: the migrations tell.
  const migration = await installNewerRelease(project, undefined);
  const before = await snapshot(project.dir);
  for (const args of [[], ["--upgrade"], ["--upgrade", "--force"]]) {
    const refused = await install(project, args);
    assert.equal(refused.code, 1, `${args}: ${refused.stdout}`);
    assert.match(
      refused.stderr,
      /^Cannot install clerk-webhook-sync into .*: it has a newer release installed than this checkout \(.*\), which would take it back to an older one: this checkout is .*; the project's install records no version\./,
    );
    assert.ok(refused.stderr.includes(`  installed there, missing here:\n    ${migration}\n`));
    assert.match(
      refused.stderr,
      /use one at least as new as the installed release, then rerun with --upgrade:\n {2}npm run install-into -- .* --upgrade\n/,
    );
    assert.doesNotMatch(refused.stderr, /older install|older release of/);
    assert.match(refused.stderr, /Nothing was written\.$/m);
    assert.deepEqual(await snapshot(project.dir), before);
  }
});

Deno.test("install-into names the release a newer install records in its manifest", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  await installNewerRelease(project, { version: "9.9.9", commit: "0123abc" });
  const refused = await install(project, ["--upgrade"]);
  assert.equal(refused.code, 1);
  assert.ok(
    refused.stderr.includes(`this checkout is ${VERSION}; the project has 9.9.9, commit 0123abc.`),
    refused.stderr,
  );
});

Deno.test("install-into refuses an install whose manifest records a newer version, even with the same migrations, naming both versions, with or without --upgrade and --force", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  const [major, minor, patch] = VERSION.split(".").map(Number);
  const newer = `${major}.${minor}.${patch! + 1}`;
  await installNewerRelease(project, { version: newer }, false);
  const before = await snapshot(project.dir);
  for (const args of [[], ["--upgrade"], ["--upgrade", "--force"]]) {
    const refused = await install(project, args);
    assert.equal(refused.code, 1, `${args}: ${refused.stdout}`);
    assert.ok(
      refused.stderr.includes(
        `it has a newer release installed than this checkout (${ROOT}), which would take it ` +
          `back to an older one: this checkout is ${VERSION}; the project has ${newer}.\n`,
      ),
      refused.stderr,
    );
    assert.doesNotMatch(refused.stderr, /missing here/);
    assert.deepEqual(await snapshot(project.dir), before);
  }
});

Deno.test("install-into does not call an install with the same migrations but other files older: it says so, and --upgrade installs this checkout's", async () => {
  await using project = await supabaseInit();
  assert.equal((await install(project)).code, 0);
  // As installed by another checkout of this release: handler.ts differs, and the manifest agrees.
  const handler = `${FUNCTION_DIR}/handler.ts`;
  await Deno.writeTextFile(`${project.dir}/${handler}`, "// Another build.\n", { append: true });
  const manifestPath = `${project.dir}/${FUNCTION_DIR}/clerk-webhook-sync.json`;
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  manifest.files[handler] = await sha256(await Deno.readFile(`${project.dir}/${handler}`));
  await Deno.writeTextFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const before = await snapshot(project.dir);
  const refused = await install(project);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /holds clerk-webhook-sync with the same migrations as this checkout but other files .*If this checkout is the one to install, rerun with --upgrade to:\n {2}updated supabase\/functions\/clerk-webhook\/handler\.ts\n/,
  );
  assert.doesNotMatch(refused.stderr, /older/);
  assert.deepEqual(await snapshot(project.dir), before);

  const upgraded = await install(project, ["--upgrade"]);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.deepEqual(
    await Deno.readFile(`${project.dir}/${handler}`),
    await Deno.readFile(`${ROOT}/functions/clerk-webhook/handler.ts`),
  );
});

Deno.test("install-into --clerk-domain lets Clerk's session tokens into the local stack ([auth.third_party.clerk]), keeps one the project has, refuses a host that is not a Clerk domain; without it the next steps say how", async () => {
  await using plain = await supabaseInit();
  const without = await install(plain);
  assert.equal(without.code, 0, without.stderr);
  assert.match(
    without.stdout,
    /Third-party auth → Clerk\n {2}and, for the local stack, \[auth\.third_party\.clerk\]/,
  );
  assert.match(
    without.stdout,
    /supabase secrets set CLERK_SECRET_KEY=sk_live_… CLERK_PUBLISHABLE_KEY=pk_live_…/,
  );

  await using project = await supabaseInit();
  const before = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
  const bad = await install(project, ["--clerk-domain", "evil.example.com"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--clerk-domain "evil\.example\.com" is not a Clerk Frontend API host/);
  assert.equal(await Deno.readTextFile(`${project.dir}/supabase/config.toml`), before);

  const result = await install(project, ["--clerk-domain", "happy-fox-12.clerk.accounts.dev"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /added \[auth\.third_party\.clerk\] domain = "happy-fox-12\.clerk\.accounts\.dev"/,
  );
  assert.doesNotMatch(result.stdout, /rerun with\n/);
  const config = await Deno.readTextFile(`${project.dir}/supabase/config.toml`);
  // supabase init's table is enabled in place, its comment kept; nothing else changes.
  assert.match(
    config,
    /\[auth\.third_party\.clerk\]\n(#.*\n)+enabled = true\ndomain = "happy-fox-12\.clerk\.accounts\.dev"\n# Obtain from https:\/\/clerk\.com\/setup\/supabase\n/,
  );
  const untouched = (text: string) =>
    text.replace(/\[auth\.third_party\.clerk\][^]*?(?=\n\[)/, "").replace(
      /\n\[functions\.clerk-webhook\][^]*$/,
      "",
    );
  assert.equal(untouched(config), untouched(before));
  const parsed = parse(config) as {
    auth: { third_party: { clerk: { enabled: boolean; domain: string } } };
    functions: Record<string, { verify_jwt: boolean }>;
  };
  assert.deepEqual({ ...parsed.auth.third_party.clerk }, {
    enabled: true,
    domain: "happy-fox-12.clerk.accounts.dev",
  });
  assert.equal(parsed.functions["clerk-webhook"]!.verify_jwt, false);

  // Once there, another domain does not replace it.
  const again = await install(project, ["--clerk-domain", "clerk.example.com"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await Deno.readTextFile(`${project.dir}/supabase/config.toml`), config);
});

Deno.test("install-into prints supabase db push --include-all when the project has migrations newer than the sync's", async () => {
  await using project = await supabaseInit();
  const later = "20991231000000_later.sql";
  await Deno.writeTextFile(`${project.dir}/supabase/migrations/${later}`, "select 1;\n");
  const result = await install(project);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stdout.includes("  supabase db push --include-all\n"), result.stdout);
  assert.ok(result.stdout.includes(`older than your ${later}`), result.stdout);
});

Deno.test("install-into exits 2 without a project, with this repository, or with a folder that is not a Supabase project, writing nothing", async () => {
  const none = await install(undefined);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Which project\?/);
  const itself = await install({ dir: ROOT });
  assert.equal(itself.code, 2);
  assert.match(itself.stderr, /is clerk-webhook-sync itself/);
  const empty = await Deno.makeTempDir({ prefix: "cws_not_a_project_" });
  try {
    const result = await install({ dir: empty });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /is not a Supabase project: it has no supabase\/config\.toml \(run supabase init there first\)/,
    );
    assert.deepEqual([...Deno.readDirSync(empty)], []);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
