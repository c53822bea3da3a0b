/**
 * `npm start`, `npm run send` and `npm run users` as someone who has just cloned the
 * project runs them: the real npm scripts, in a copy of the project (so `.data/` is its
 * own), with nothing in the environment but PATH, HOME and DENO_DIR.
 */
import { PGlite } from "@electric-sql/pglite";
import assert from "node:assert/strict";
import postgres from "postgres";
import { newSecret } from "../dev/webhooks.ts";
import { scratchDatabase } from "../dev/database.ts";
import { collectOutput, freePort } from "../dev/function_process.ts";
import { POSTGREST_MISSING, startDataApi } from "../dev/data_api.ts";

const ROOT = new URL("../", import.meta.url);
/** What `npm start`, `send` and `users` need from the project; node_modules is linked. */
const PROJECT_FILES = [
  "package.json",
  "deno.json",
  "deno.lock",
  "import_map.json",
  "functions",
  "cli",
  "dev",
  "fixtures",
  "supabase/config.toml",
  "supabase/migrations",
];

/** The project's migrations by name, in the order they apply. */
const MIGRATIONS = [...Deno.readDirSync(new URL("supabase/migrations/", ROOT))]
  .map((entry) => entry.name.replace(/\.sql$/, ""))
  .sort();

/** A copy of the project in a temporary directory. */
interface Project extends AsyncDisposable {
  dir: string;
}

async function copyProject(): Promise<Project> {
  const dir = await Deno.makeTempDir({ prefix: "cws_local_run_" });
  await Deno.mkdir(`${dir}/supabase`);
  const copy = await new Deno.Command("cp", {
    args: ["-R", ...PROJECT_FILES.map((path) => new URL(path, ROOT).pathname), `${dir}/`],
  }).output();
  assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
  for (const path of ["config.toml", "migrations"]) {
    await Deno.rename(`${dir}/${path}`, `${dir}/supabase/${path}`);
  }
  await Deno.symlink(new URL("node_modules", ROOT).pathname, `${dir}/node_modules`);
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** The environment of a fresh shell: PATH, HOME and DENO_DIR only, plus `extra`. */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** `npm run --silent <script> -- <args>` in `project`; its stdout, failing on an error. */
async function npmRun(
  project: Project,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const output = await new Deno.Command("npm", {
    args: ["run", "--silent", script, "--", ...args],
    cwd: project.dir,
    env: bareEnv(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  assert.ok(
    output.success,
    `npm run ${script} ${args.join(" ")} failed:\n${stdout}${decoder.decode(output.stderr)}`,
  );
  return stdout;
}

/** One line of `npm run send`'s output. */
interface Sent {
  type: string;
  clerkId: string;
  svixId: string;
  status: number;
  outcome: string;
}

async function send(
  project: Project,
  args: string[],
  env: Record<string, string> = {},
): Promise<Sent[]> {
  const output = await npmRun(project, "send", args, env);
  return [...output.matchAll(/^(\S+) {2}(\S+) {2}(\S+) {2}→ (\d{3}) (.*)$/gm)].map((match) => ({
    type: match[1]!,
    clerkId: match[2]!,
    svixId: match[3]!,
    status: Number(match[4]),
    outcome: match[5]!,
  }));
}

async function users(
  project: Project,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>[]> {
  return JSON.parse(await npmRun(project, "users", ["--json"], env));
}

const row = (rows: Record<string, unknown>[], clerkId: string) =>
  rows.find((user) => user.clerk_id === clerkId);

/** A running `npm start`, in its own process group as in a terminal. */
interface Start extends AsyncDisposable {
  output(): string;
  /**
   * Signals the process group, as Ctrl-C does with SIGINT (the default); resolves when
   * every process has exited.
   */
  interrupt(signal?: "SIGINT" | "SIGTERM"): Promise<void>;
}

async function npmStart(project: Project, env: Record<string, string> = {}): Promise<Start> {
  const child = new Deno.Command("setsid", {
    args: ["npm", "start"],
    cwd: project.dir,
    env: bareEnv(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, collecting } = collectOutput(child);
  // The pipes close when the last process holding them, the Deno server, has exited.
  const closed = Promise.all([collecting, child.status]);
  let exited = false;
  closed.then(() => exited = true);
  const interrupt = async (signal: "SIGINT" | "SIGTERM" = "SIGINT") => {
    if (!exited) Deno.kill(-child.pid, signal);
    await closed;
  };
  for (let waited = 0; !/Listening on/.test(text()); waited += 50) {
    if (exited || waited > 120_000) {
      await interrupt();
      throw new Error(`npm start did not listen:\n${text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { output: text, interrupt, [Symbol.asyncDispose]: () => interrupt() };
}

/**
 * Whether PostgreSQL shut the database down cleanly: the state in global/pg_control,
 * an int32 after the system identifier and two version numbers, is DB_SHUTDOWNED (1);
 * a database left open, as by a crash, says DB_IN_PRODUCTION (6).
 */
async function isShutDown(project: Project): Promise<boolean> {
  const control = await Deno.readFile(`${project.dir}/.data/pglite/global/pg_control`);
  return new DataView(control.buffer).getInt32(16, true) === 1;
}

function assertPortFree(port: number): void {
  try {
    Deno.listen({ port }).close();
  } catch (error) {
    throw new Error(`Port ${port} must be free for this test: ${(error as Error).message}`);
  }
}

Deno.test("npm start with nothing configured syncs into an embedded database that outlives it", async (t) => {
  await using project = await copyProject();
  assertPortFree(8000);
  let start = await npmStart(project);
  /** The users left at the end of the first run, sorted. */
  const KEPT = ["user_29w83sxmDNGwOuEthce5gg56FcC", "user_grace", "user_kept", "user_shuffled"];
  const secret = (await Deno.readTextFile(`${project.dir}/.data/webhook_secret`)).trim();

  await t.step("it prints the new development secret and the commands to send events", () => {
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/);
    const output = start.output();
    assert.match(
      output,
      /Database: embedded PostgreSQL [\d.]+ \(PGlite [\d.]+\) in \.data\/pglite/,
    );
    assert.ok(
      output.includes(`Migrations: applied ${MIGRATIONS.join(", ")} with supabase db push`),
      output,
    );
    assert.ok(output.includes(`Signing secret: ${secret} (development secret, created in`));
    assert.ok(output.includes("Listening on http://localhost:8000/"), output);
    assert.ok(output.includes("npm run send -- user.created"), output);
    assert.ok(output.includes("npm run users"), output);
  });

  await t.step("a created user is listed by npm run users", async () => {
    const sent = await send(project, [
      "user.created",
      "--id",
      "user_ada",
      "--email",
      "ada@example.com",
      "--first-name",
      "Ada",
      "--last-name",
      "Lovelace",
    ]);
    assert.deepEqual(sent.map(({ status, outcome }) => [status, outcome]), [[200, "applied"]]);
    const ada = row(await users(project), "user_ada");
    assert.deepEqual(
      ada && [ada.email, ada.first_name, ada.last_name, ada.svix_id],
      ["ada@example.com", "Ada", "Lovelace", sent[0]!.svixId],
    );
  });

  await t.step("an update changes the row", async () => {
    const sent = await send(project, [
      "user.updated",
      "--id",
      "user_ada",
      "--email",
      "ada@example.com",
      "--first-name",
      "Augusta",
      "--last-name",
      "Lovelace",
    ]);
    assert.deepEqual(sent.map(({ outcome }) => outcome), ["applied"]);
    assert.equal(row(await users(project), "user_ada")?.first_name, "Augusta");
  });

  await t.step("--repeat 2 delivers one message twice: applied, then duplicate", async () => {
    const sent = await send(project, ["user.created", "--id", "user_grace", "--repeat", "2"]);
    assert.deepEqual(sent.map(({ status, outcome }) => [status, outcome]), [
      [200, "applied"],
      [200, "duplicate"],
    ]);
    assert.equal(sent[0]!.svixId, sent[1]!.svixId);
    const rows = await users(project);
    assert.equal(rows.filter((user) => user.clerk_id === "user_grace").length, 1);
    assert.equal(row(rows, "user_grace")?.email, "user_grace@example.com");
  });

  await t.step("a deleted user leaves the list", async () => {
    const sent = await send(project, ["user.deleted", "--id", "user_ada"]);
    assert.deepEqual(sent.map(({ outcome }) => outcome), ["applied"]);
    assert.equal(row(await users(project), "user_ada"), undefined);
  });

  await t.step(
    "organization and membership events sync, and npm run users --orgs lists them",
    async () => {
      const sent = await send(project, [
        "organization.created",
        "organizationMembership.created",
        "--org",
        "org_acme",
        "--slug",
        "acme",
        "--id",
        "user_bob",
        "--role",
        "org:admin",
      ]);
      assert.deepEqual(
        sent.map(({ type, clerkId, outcome }) => [type, clerkId, outcome]),
        [
          ["organization.created", "org_acme", "applied"],
          ["organizationMembership.created", "orgmem_acme_bob", "applied"],
        ],
      );
      const organizations = JSON.parse(await npmRun(project, "users", ["--json", "--orgs"]));
      assert.deepEqual(
        organizations.map(({ clerk_id, slug, members }: Record<string, unknown>) => [
          clerk_id,
          slug,
          members,
        ]),
        [["org_acme", "acme", "user_bob (org:admin)"]],
      );
    },
  );

  await t.step(
    "a user and an organization an app's foreign key keeps are listed as deleted, not as blank rows",
    async () => {
      await send(project, ["user.created", "--id", "user_kept"]);
      const { databaseUrl } = JSON.parse(
        await Deno.readTextFile(`${project.dir}/.data/server.json`),
      );
      // The embedded database's socket serves one client, one simple query at a time.
      const sql = postgres(databaseUrl, { max: 1, fetch_types: false, onnotice: () => {} });
      try {
        await sql.unsafe(`create table public.app_posts (
          author text references public.users (clerk_id),
          organization text references public.organizations (clerk_id)
        );
        insert into public.app_posts values ('user_kept', 'org_acme')`).simple();
      } finally {
        await sql.end();
      }
      const sent = [
        ...await send(project, ["user.deleted", "--id", "user_kept"]),
        ...await send(project, ["organization.deleted", "--org", "org_acme"]),
      ];
      assert.deepEqual(sent.map(({ status, outcome }) => [status, outcome]), [
        [200, "applied"],
        [200, "applied"],
      ]);
      const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
      const listing = await npmRun(project, "users", []);
      assert.match(
        listing,
        new RegExp(String.raw`^user_kept +\| \(deleted ${time}\) +\| +\| +\| ${time}$`, "m"),
      );
      const kept = row(await users(project), "user_kept");
      assert.deepEqual(kept && [kept.email, kept.first_name], [null, null]);
      assert.match(String(kept?.deleted_at), new RegExp(`^${time}$`));
      const organizations = await npmRun(project, "users", ["--orgs"]);
      assert.match(
        organizations,
        new RegExp(String.raw`^org_acme +\| Org org_acme +\| \(deleted ${time}\) +\|$`, "m"),
      );
      const [acme] = JSON.parse(await npmRun(project, "users", ["--json", "--orgs"]));
      assert.match(String(acme.deleted_at), new RegExp(`^${time}$`));
    },
  );

  await t.step("a JSON payload file is signed and sent as it is", async () => {
    const sent = await send(project, ["fixtures/clerk/user.created.docs-sample.json"]);
    assert.deepEqual(
      sent.map(({ type, clerkId, status, outcome }) => [type, clerkId, status, outcome]),
      [
        ["user.created", "user_29w83sxmDNGwOuEthce5gg56FcC", 200, "applied"],
      ],
    );
    const sample = row(await users(project), "user_29w83sxmDNGwOuEthce5gg56FcC");
    assert.deepEqual(sample && [sample.email, sample.clerk_updated_at], [
      "example@example.org",
      new Date(1654012591835).toISOString(),
    ]);
  });

  await t.step(
    "--shuffle mixes the deliveries, and every order ends at the newest event",
    async () => {
      const given = ["user.created", "user.updated", "user.deleted"];
      const sent = await send(project, [
        ...given,
        "--id",
        "user_gone",
        "--repeat",
        "4",
        "--shuffle",
      ]);
      // 12!/(4!·4!·4!) orders: the one given comes back once in 34,650 runs.
      assert.notDeepEqual(
        sent.map(({ type }) => type),
        given.flatMap((type) => Array(4).fill(type)),
      );
      for (const type of given) {
        const copies = sent.filter((delivery) => delivery.type === type);
        assert.equal(new Set(copies.map(({ svixId }) => svixId)).size, 1, type);
        const duplicates = copies.filter(({ outcome }) => outcome === "duplicate");
        assert.equal(duplicates.length, 3, type);
      }
      assert.equal(row(await users(project), "user_gone"), undefined);

      const pair = await send(project, [
        "user.created",
        "user.updated",
        "--id",
        "user_shuffled",
        "--shuffle",
      ]);
      const updated = pair.find(({ type }) => type === "user.updated")!;
      assert.equal(row(await users(project), "user_shuffled")?.svix_id, updated.svixId);
    },
  );

  await t.step(
    "Ctrl-C closes the database cleanly; the migrations are recorded as the CLI does",
    async () => {
      assert.equal(await isShutDown(project), false);
      await start.interrupt();
      assert.match(start.output(), /SIGINT: stopping\nStopped; the data stays in \.data\/pglite/);
      assert.equal(await isShutDown(project), true);
      await assert.rejects(Deno.stat(`${project.dir}/.data/server.json`), Deno.errors.NotFound);
      const migrations: string[] = [];
      for await (const entry of Deno.readDir(new URL("supabase/migrations", ROOT))) {
        migrations.push(entry.name.replace(/\.sql$/, ""));
      }
      const pglite = await PGlite.create(`${project.dir}/.data/pglite`);
      try {
        const { rows } = await pglite.query<
          { version: string; name: string; statements: string[] }
        >(
          "select version, name, statements from supabase_migrations.schema_migrations order by 1",
        );
        assert.deepEqual(rows.map((row) => `${row.version}_${row.name}`), migrations.sort());
        assert.ok(rows.every((row) => row.statements.length > 0));
      } finally {
        await pglite.close();
      }
      // Read with the server stopped: npm run users opens .data/pglite itself.
      assert.deepEqual((await users(project)).map((user) => user.clerk_id).sort(), KEPT);
    },
  );

  await t.step(
    "a restart, on PORT, keeps the data and the secret; SIGTERM stops it too",
    async () => {
      const port = freePort();
      start = await npmStart(project, { PORT: String(port) });
      const output = start.output();
      assert.ok(output.includes(`Migrations: up to date (${MIGRATIONS.join(", ")})`), output);
      assert.ok(output.includes(`Signing secret: ${secret} (development secret, from`), output);
      assert.ok(output.includes(`Listening on http://localhost:${port}/`), output);
      // npm run send finds the running server's port by itself.
      const sent = await send(project, ["user.updated", "--id", "user_grace", "--first-name", "G"]);
      assert.deepEqual(sent.map(({ outcome }) => outcome), ["applied"]);
      const rows = await users(project);
      assert.deepEqual(rows.map((user) => user.clerk_id).sort(), KEPT);
      assert.equal(row(rows, "user_grace")?.first_name, "G");
      await start.interrupt("SIGTERM");
      assert.match(start.output(), /SIGTERM: stopping\nStopped/);
      assert.equal(await isShutDown(project), true);
    },
  );
});

Deno.test("npm start writes to DATABASE_URL, or to SUPABASE_URL with a key, and says which", async (t) => {
  await using project = await copyProject();
  await using db = await scratchDatabase();
  const secretKey = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
  await using api = POSTGREST_MISSING === undefined
    ? await startDataApi({ databaseUrl: db.url, secretKey })
    : undefined;
  const apiUrl = api?.url ?? "http://127.0.0.1:1";
  // Where npm has no PostgREST build, the Data API's step is ignored, never passed.
  const step = (name: string, env: Record<string, string>, fn: () => Promise<void>) =>
    t.step({ name, ignore: "SUPABASE_URL" in env && api === undefined, fn });
  const database = new URL(db.url);
  const signing = { CLERK_WEBHOOK_SECRET: newSecret() };
  const cases: [string, Record<string, string>, string[]][] = [
    [
      "DATABASE_URL, with CLERK_WEBHOOK_SECRET",
      { DATABASE_URL: db.url, ...signing },
      [
        `Database: PostgreSQL at DATABASE_URL (postgres://${database.host}${database.pathname})`,
        "Signing secret: from CLERK_WEBHOOK_SECRET",
      ],
    ],
    [
      "SUPABASE_URL and SUPABASE_SECRET_KEYS, with the development secret",
      { SUPABASE_URL: apiUrl, SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }) },
      [
        `Database: Supabase project at SUPABASE_URL (${apiUrl}), through its Data API`,
        "(development secret, created in .data/webhook_secret)",
      ],
    ],
  ];
  for (const [name, env, banner] of cases) {
    await step(name, env, async () => {
      const port = String(freePort());
      await using start = await npmStart(project, { ...env, PORT: port });
      for (const line of banner) assert.ok(start.output().includes(line), start.output());
      const clerkId = `user_${crypto.randomUUID().slice(0, 8)}`;
      const sent = await send(project, ["user.created", "--id", clerkId], env);
      assert.deepEqual(sent.map(({ status, outcome }) => [status, outcome]), [[200, "applied"]]);
      const [stored] = await db.sql`select email from public.users where clerk_id = ${clerkId}`;
      assert.deepEqual(stored, { email: `${clerkId}@example.com` });
      const listed = row(await users(project, { DATABASE_URL: db.url }), clerkId);
      assert.equal(listed?.email, stored.email);
    });
  }
  await assert.rejects(Deno.stat(`${project.dir}/.data/pglite`), Deno.errors.NotFound);
});
