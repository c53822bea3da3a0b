/**
 * A first run, as a new user meets it: a database without the sync's migrations (or with
 * older ones), a key in the wrong setting, a signing secret that is not the endpoint's.
 * Each says what to do, through the function as its own process and through `npm start`.
 */
import assert from "node:assert/strict";
import { newClerkId, userEvent } from "../dev/clerk_events.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { startFunction } from "../dev/function_process.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";
import { runDeno } from "./support/run_deno.ts";

const START = new URL("../cli/local/start.ts", import.meta.url);

/** The version function as a migration defines it, answering `version`. */
function defineVersion(db: ScratchDatabase, version: string) {
  return db.sql.unsafe(`
    create or replace function public.clerk_sync_schema_version() returns text
    language sql stable set search_path = '' as $$ select '${version}'::text $$`);
}

/** `npm start` with exactly `env` (and PATH, HOME, DENO_DIR), as its npm script runs it. */
function npmStart(env: Record<string, string>) {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return runDeno([
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write=.data",
    "--allow-run=node_modules/.bin/supabase",
    START.href,
  ], { ...base, ...env });
}

Deno.test("the function answers 503 naming supabase db push while the database lacks the sync's migrations, then applies the retry once they land", async () => {
  await using db = await scratchDatabase();
  const secret = newSecret();
  await db.sql`drop function public.clerk_sync_schema_version()`;
  await using fn = await startFunction({ CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: db.url });
  const event = userEvent("user.created", {
    id: newClerkId(),
    email: "first@example.com",
    updatedAt: Date.now(),
  });
  const id = newSvixId();

  const missing = await deliver(fn.url, event, { secret, id });
  assert.equal(missing.status, 503);
  assert.match(String(missing.body.error), /lacks the sync's migrations: run `supabase db push`/);
  const log = await fn.waitForOutput(new RegExp(`"svix_id":"${id}".*"status":503`));
  assert.match(
    log,
    /SchemaMismatchError: The database lacks the sync's migrations \(42883 function public\.clerk_sync_schema_version\(\) does not exist\): run `supabase db push`/,
  );

  // An older schema: the function is there, its version is not the one the code needs.
  await defineVersion(db, "20261202120000");
  const older = await deliver(fn.url, event, { secret, id });
  assert.equal(older.status, 503);
  await fn.waitForOutput(/schema is at 20261202120000; this code needs \d{14} or later/);
  const [written] = await db.sql`
    select (select count(*)::int from public.users) + (select count(*)::int from clerk_sync.deliveries)
      + (select count(*)::int from clerk_sync.refusals) as rows`;
  assert.equal(written!.rows, 0, "nothing written, nothing recorded as refused");

  // `supabase db push` lands; Svix's next retry is applied.
  await defineVersion(db, "29991231235959");
  assert.deepEqual(await deliver(fn.url, event, { secret, id }), {
    status: 200,
    body: { outcome: "applied" },
  });
});

Deno.test("npm start stops before listening, naming supabase db push, when DATABASE_URL lacks the sync's migrations or has older ones", async () => {
  await using db = await scratchDatabase();
  const env = { CLERK_WEBHOOK_SECRET: newSecret(), DATABASE_URL: db.url, PORT: "0" };
  await db.sql`drop function public.clerk_sync_schema_version()`;
  const missing = await npmStart(env);
  assert.equal(missing.code, 1, missing.stdout + missing.stderr);
  assert.doesNotMatch(missing.stdout, /Listening/);
  assert.match(
    missing.stderr,
    /^PostgreSQL at DATABASE_URL \(postgres:\/\/127\.0\.0\.1:\d+\/\w+\): The database lacks the sync's migrations \(42883 .*\): run `supabase db push` to apply the sync's migrations \(with --db-url for a database that is not the linked project's\)$/m,
  );

  await defineVersion(db, "20261127120000");
  const older = await npmStart(env);
  assert.equal(older.code, 1);
  assert.match(
    older.stderr,
    /schema is at 20261127120000; this code needs \d{14} or later: run `supabase db push`/,
  );
});

Deno.test("npm start stops before listening when DATABASE_URL's server does not answer, and says to check it", async () => {
  const result = await npmStart({
    CLERK_WEBHOOK_SECRET: newSecret(),
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres",
    PORT: "0",
  });
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stdout, /Listening/);
  assert.match(
    result.stderr,
    /^Cannot reach PostgreSQL at DATABASE_URL \(postgres:\/\/127\.0\.0\.1:1\/postgres\): .*ECONNREFUSED.*; check the setting and that the database runs$/m,
  );
});

Deno.test("a Clerk secret key in CLERK_WEBHOOK_SECRET: npm start stops and the function logs which key goes where", async () => {
  const env = {
    CLERK_WEBHOOK_SECRET: `sk_test_${"k".repeat(40)}`,
    DATABASE_URL: "postgres://h/db",
  };
  const started = await npmStart({ ...env, PORT: "0" });
  assert.equal(started.code, 1);
  const advice =
    /CLERK_WEBHOOK_SECRET: The secret is a Clerk secret key \(sk_…\), which is CLERK_SECRET_KEY of npm run backfill, not a webhook signing secret: set the endpoint's Signing Secret \(whsec_…\) from the Clerk dashboard → Webhooks → the endpoint/;
  assert.match(started.stderr, advice);

  await using fn = await startFunction(env);
  assert.match(fn.output(), advice);
  const response = await fetch(fn.url, { method: "POST", body: "{}" });
  assert.equal(response.status, 500);
  assert.match((await response.json()).error, /misconfigured; see its logs/);
});

Deno.test("a delivery signed with another secret is logged with its svix-id and the setting to check, and writes nothing", async () => {
  await using db = await scratchDatabase();
  await using fn = await startFunction({ CLERK_WEBHOOK_SECRET: newSecret(), DATABASE_URL: db.url });
  const id = newSvixId();
  const event = userEvent("user.created", { id: newClerkId(), email: null, updatedAt: Date.now() });
  const { status, body } = await deliver(fn.url, event, { secret: newSecret(), id });
  assert.equal(status, 400);
  const hint =
    "No matching signature found: check that CLERK_WEBHOOK_SECRET is this endpoint's Signing Secret (Clerk dashboard → Webhooks → the endpoint)";
  assert.equal(body.error, hint);
  const log = await fn.waitForOutput(new RegExp(`"svix_id":"${id}"`));
  const line = JSON.parse(log.split("\n").find((text) => text.includes(id))!);
  assert.deepEqual(
    { svix_id: line.svix_id, status: line.status, error: line.error, outcome: line.outcome },
    { svix_id: id, status: 400, error: hint, outcome: null },
  );
  const [written] = await db.sql`
    select (select count(*)::int from public.users) + (select count(*)::int from clerk_sync.deliveries)
      + (select count(*)::int from clerk_sync.refusals) as rows`;
  assert.equal(written!.rows, 0);
});
