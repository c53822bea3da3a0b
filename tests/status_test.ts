/**
 * `npm run status`: cli/status/status.ts as a process (net and env permissions only) against a
 * scratch database holding known deliveries, refusals and backfill runs (the runs
 * written by the real `npm run backfill` against the Clerk API stand-in), directly and
 * through the Data API.
 */
import assert from "node:assert/strict";
import { startClerkApiStandIn } from "../dev/stand_ins/clerk_api.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { startDataApi } from "../dev/data_api.ts";
import type { Health } from "../cli/status/health.ts";
import type { SyncStatus } from "../cli/status/read.ts";
import { type CommandResult, runDeno } from "./support/run_deno.ts";
import { testOn } from "./support/transports.ts";

const STATUS = new URL("../cli/status/status.ts", import.meta.url);
const BACKFILL = new URL("../cli/backfill/backfill.ts", import.meta.url);
const CLERK_KEY = "sk_test_status0stand0in0key";
const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
const T = Date.now() - 24 * 60 * 60 * 1000;

/** Runs `deno run --allow-net --allow-env <cli> …args`, as its npm script does. */
function runCli(cli: URL, args: string[], env: Record<string, string>): Promise<CommandResult> {
  return runDeno(["--allow-net", "--allow-env", cli.href, ...args], env);
}

/** `npm run status -- --json …args`: its exit code and the JSON it printed. */
async function statusJson(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; status: SyncStatus & { health: Health } }> {
  const result = await runCli(STATUS, ["--json", ...args], env);
  assert.ok(result.code === 0 || result.code === 1, result.stderr);
  return { code: result.code, status: JSON.parse(result.stdout) };
}

/** Applies one webhook delivery through the SQL function, as the function does. */
async function apply(
  db: ScratchDatabase,
  svixId: string,
  type: string,
  clerkId: string | null,
  updatedAt = T,
): Promise<string> {
  const state = type.startsWith("user.") && type !== "user.deleted"
    ? {
      email: `${clerkId}@example.com`,
      clerk_created_at: new Date(T).toISOString(),
      clerk_updated_at: new Date(updatedAt).toISOString(),
    }
    : null;
  const [row] = await db.sql`
    select public.apply_clerk_event(${svixId}, ${type}, ${new Date(updatedAt).toISOString()},
      ${clerkId}, ${state === null ? null : db.sql.json(state)}) as outcome`;
  return row!.outcome;
}

const NO_COUNTS = { fetched: 0, applied: 0, stale: 0, duplicate: 0, deleted: 0, invalid: 0 };

Deno.test("npm run status --json prints the database's numbers: deliveries by outcome over the hour and the day, the last delivery of each type, refusals, the last backfill run, the ledger", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: CLERK_KEY });
  clerk.put({ id: "user_b1", email: "b1@example.com", updatedAt: T });
  clerk.put({ id: "user_b2", email: "b2@example.com", updatedAt: T });
  const backfill = await runCli(BACKFILL, [], {
    CLERK_SECRET_KEY: CLERK_KEY,
    CLERK_API_URL: clerk.url,
    DATABASE_URL: db.url,
  });
  assert.equal(backfill.code, 0, backfill.stderr);

  assert.equal(await apply(db, "msg_w1", "user.created", "user_w", T + 2000), "applied");
  assert.equal(await apply(db, "msg_w2", "user.updated", "user_w", T + 1000), "stale");
  assert.equal(await apply(db, "msg_w1", "user.created", "user_w", T + 2000), "duplicate");
  assert.equal(await apply(db, "msg_s1", "session.created", null), "ignored");
  // Received three hours ago: in the last day, not in the last hour.
  await db.sql`update clerk_sync.deliveries set received_at = now() - interval '3 hours'
    where svix_id = 'msg_s1'`;
  await db
    .sql`select public.record_clerk_refusal('msg_r1', 'user.created', 422, 'data.id: required')`;
  await db
    .sql`select public.record_clerk_refusal('msg_r1', 'user.created', 422, 'data.id: required')`;

  const { code, status } = await statusJson({ DATABASE_URL: db.url }, ["--max-refused=50"]);
  assert.equal(code, 0, JSON.stringify(status.health));
  assert.deepEqual(status.health, { healthy: true, warnings: [] });
  assert.equal(status.users, 3);
  assert.deepEqual(status.deliveries, {
    last_hour: { applied: 1, stale: 1, ignored: 0, refused: 1 },
    last_day: { applied: 1, stale: 1, ignored: 1, refused: 1 },
  });
  const [ledger] = await db.sql`
    select count(*)::int as entries, min(received_at) as oldest,
      max(received_at) filter (where svix_id like 'msg_%') as last,
      max(received_at) filter (where svix_id = 'msg_w1') as created,
      max(received_at) filter (where svix_id = 'msg_s1') as session
    from clerk_sync.deliveries`;
  // Four webhook deliveries (the duplicate is not recorded) and the backfill's two.
  assert.equal(ledger!.entries, 5);
  assert.equal(status.ledger.entries, ledger!.entries);
  assert.equal(Date.parse(status.ledger.oldest_at!), ledger!.oldest.getTime());
  assert.equal(Date.parse(status.last_delivery_at!), ledger!.last.getTime());
  assert.deepEqual(Object.keys(status.last_by_type).sort(), [
    "session.created",
    "user.created",
    "user.updated",
  ]);
  assert.equal(
    Date.parse(status.last_by_type["user.created"]!.received_at),
    ledger!.created.getTime(),
  );
  assert.equal(
    Date.parse(status.last_by_type["session.created"]!.received_at),
    ledger!.session.getTime(),
  );
  assert.equal(status.refusals.total, 1);
  assert.deepEqual(
    status.refusals.recent.map((r) => [r.svix_id, r.status, r.attempts]),
    [["msg_r1", 422, 2]],
  );
  const run = status.last_run!;
  assert.deepEqual([run.mode, run.ok, run.error], ["backfill", true, null]);
  assert.deepEqual(run.counts, {
    users: { ...NO_COUNTS, fetched: 2, applied: 2 },
    organizations: NO_COUNTS,
    memberships: NO_COUNTS,
    invitations: NO_COUNTS,
    permissions: NO_COUNTS,
    roles: NO_COUNTS,
    domains: NO_COUNTS,
    "subscription items": NO_COUNTS,
    "waitlist entries": NO_COUNTS,
  });
  assert.ok(Date.parse(run.started_at) <= Date.parse(run.finished_at));

  // The same, for a person.
  const text = await runCli(STATUS, ["--max-refused=50"], { DATABASE_URL: db.url });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Users: 3$/m);
  assert.match(text.stdout, /^ {2}applied +1 +1$/m);
  assert.match(text.stdout, /^ {2}ignored +0 +1$/m);
  assert.match(
    text.stdout,
    /^ {2}msg_r1 {2}user\.created {2}422 {2}data\.id: required \(2 attempts/m,
  );
  assert.match(text.stdout, /^Last backfill run: backfill, finished .* ok$/m);
  assert.match(text.stdout, /^ {2}users: fetched 2, applied 2, stale 0, duplicate 0/m);
  assert.match(text.stdout, /^Ledger: 5 entries, oldest /m);
  assert.match(text.stdout, /^Healthy$/m);

  // A reconcile finds the two users unchanged and deletes user_w, whom Clerk does not have.
  assert.equal(
    (await runCli(BACKFILL, ["--reconcile"], {
      CLERK_SECRET_KEY: CLERK_KEY,
      CLERK_API_URL: clerk.url,
      DATABASE_URL: db.url,
    })).code,
    0,
  );
  const again = (await statusJson({ DATABASE_URL: db.url }, ["--max-refused=50"])).status;
  assert.equal(again.last_run?.mode, "reconcile");
  assert.deepEqual(again.last_run?.counts.users, {
    ...NO_COUNTS,
    fetched: 2,
    duplicate: 2,
    deleted: 1,
  });
  // A dry run is not logged.
  assert.equal(
    (await runCli(BACKFILL, ["--dry-run"], {
      CLERK_SECRET_KEY: CLERK_KEY,
      CLERK_API_URL: clerk.url,
      DATABASE_URL: db.url,
    })).code,
    0,
  );
  const [runs] = await db.sql`select count(*)::int as count from clerk_sync.backfill_runs`;
  assert.equal(runs?.count, 2);
});

Deno.test("npm run status counts the rows of every synced table, the open invitations apart", async () => {
  await using db = await scratchDatabase();
  const times = (offset: number) => ({
    clerk_created_at: new Date(T).toISOString(),
    clerk_updated_at: new Date(T + offset).toISOString(),
  });
  const invitation = (status: string, expiresAt: number) => ({
    organization_id: "org_s",
    email_address: "x@example.com",
    role: "org:member",
    status,
    expires_at: new Date(expiresAt).toISOString(),
    ...times(0),
  });
  const deliveries = [
    ["organization.created", "org_s", { name: "S", ...times(0) }],
    [
      "organizationInvitation.created",
      "orginv_open",
      invitation("pending", Date.now() + 86_400_000),
    ],
    ["organizationInvitation.created", "orginv_expired", invitation("pending", T)],
    ["organizationInvitation.accepted", "orginv_accepted", invitation("accepted", Date.now() + 1)],
    ["role.created", "role_s", { key: "org:s", name: "S", permissions: ["org:x:y"], ...times(0) }],
    ["permission.created", "perm_s", { key: "org:x:y", name: "Y", ...times(0) }],
    ["organizationDomain.created", "orgdmn_s", {
      organization_id: "org_s",
      name: "s.test",
      enrollment_mode: "manual_invitation",
      ...times(0),
    }],
  ] as const;
  for (const [n, [type, id, state]] of deliveries.entries()) {
    await db.sql`select public.apply_clerk_events(${
      db.sql.json([{ svix_id: `msg_${n}`, type, event_at: new Date(T), object_id: id, state }])
    })`;
  }
  const { status } = await statusJson({ DATABASE_URL: db.url });
  assert.deepEqual(status.rows, {
    organizations: 1,
    memberships: 0,
    invitations: 3,
    open_invitations: 1,
    roles: 1,
    permissions: 1,
    domains: 1,
    subscriptions: 0,
    subscription_items: 0,
    payment_attempts: 0,
    waitlist_entries: 0,
  });
  const text = await runCli(STATUS, [], { DATABASE_URL: db.url });
  assert.match(
    text.stdout,
    /^Rows: 1 organizations, 0 memberships, 3 invitations \(1 open\), 1 roles, 1 permissions, 1 domains, 0 subscriptions, 0 subscription items, 0 payment attempts, 0 waitlist entries$/m,
  );
});

Deno.test("npm run status warns and exits 1 when the sync looks stalled, and 0 again once deliveries arrive", async () => {
  await using db = await scratchDatabase();
  const env = { DATABASE_URL: db.url };

  const empty = await statusJson(env, ["--stall-after=1m"]);
  assert.equal(empty.code, 0, "no users, no deliveries: nothing to expect yet");

  // Users from a backfill only: the webhook never delivered.
  assert.equal(await apply(db, "backfill:user_a:1", "user.updated", "user_a"), "applied");
  const never = await statusJson(env);
  assert.equal(never.code, 1);
  assert.match(
    never.status.health.warnings[0]!,
    /^Stalled: 1 user but no webhook delivery recorded/,
  );

  assert.equal(await apply(db, "msg_1", "user.created", "user_b"), "applied");
  assert.equal((await statusJson(env, ["--stall-after=6h"])).code, 0);

  await db.sql`update clerk_sync.deliveries set received_at = now() - interval '7 hours'`;
  const stalled = await runCli(STATUS, ["--stall-after=6h"], env);
  assert.equal(stalled.code, 1, stalled.stdout);
  assert.match(
    stalled.stdout,
    /^Unhealthy:\n {2}Stalled: no webhook delivery for 7 h \(since .*; the limit is 6 h\)/m,
  );
  assert.equal((await statusJson(env, ["--stall-after=8h"])).code, 0);
  assert.equal((await statusJson(env)).code, 0, "the default waits a day");

  assert.equal(await apply(db, "msg_2", "user.updated", "user_b", T + 1000), "applied");
  const cleared = await runCli(STATUS, ["--stall-after=6h"], env);
  assert.equal(cleared.code, 0, cleared.stdout);
  assert.match(cleared.stdout, /^Healthy$/m);
});

Deno.test("npm run status exits 1 when too many deliveries are refused, or the last backfill failed", async () => {
  await using db = await scratchDatabase();
  const env = { DATABASE_URL: db.url };
  for (let n = 1; n <= 9; n++) {
    assert.equal(await apply(db, `msg_${n}`, "user.created", `user_${n}`), "applied");
  }
  await db.sql`select public.record_clerk_refusal('msg_bad', 'user.created', 422, 'data: invalid')`;
  const tenth = await statusJson(env);
  assert.equal(tenth.code, 0, "1 of 10 refused is within the default 10 %");
  await db
    .sql`select public.record_clerk_refusal('msg_bad2', null, 500, 'CLERK_WEBHOOK_SECRET: missing')`;
  const refusing = await statusJson(env);
  assert.equal(refusing.code, 1);
  assert.deepEqual(refusing.status.health.warnings, [
    "Refusing: 2 of 11 deliveries in the last day were refused (18 %, the limit is 10 %): " +
    "see the refusals below and the function's logs",
  ]);
  assert.equal((await statusJson(env, ["--max-refused=20"])).code, 0);

  // A backfill that fails (a key Clerk refuses) is recorded as failed.
  await using clerk = startClerkApiStandIn({ secretKey: CLERK_KEY });
  const failed = await runCli(BACKFILL, [], {
    CLERK_SECRET_KEY: "sk_test_not0the0right0key",
    CLERK_API_URL: clerk.url,
    DATABASE_URL: db.url,
  });
  assert.equal(failed.code, 1);
  const afterFailure = await statusJson(env, ["--max-refused=20"]);
  assert.equal(afterFailure.code, 1);
  assert.equal(afterFailure.status.last_run?.ok, false);
  assert.match(afterFailure.status.last_run?.error ?? "", /401/);
  assert.match(
    afterFailure.status.health.warnings[0]!,
    /^The last backfill run .* did not complete/,
  );
});

/** Ignored, never passed, where npm has no PostgREST build. */
const test = testOn("supabase");

test("npm run status reads the same through the Data API as service_role, and the backfill logs through it", async () => {
  await using db = await scratchDatabase();
  await using api = await startDataApi({
    databaseUrl: db.url,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
  });
  const supabase = {
    SUPABASE_URL: api.url,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
  };
  await using clerk = startClerkApiStandIn({ secretKey: CLERK_KEY });
  clerk.put({ id: "user_c", email: "c@example.com", updatedAt: T });
  const backfill = await runCli(BACKFILL, [], {
    CLERK_SECRET_KEY: CLERK_KEY,
    CLERK_API_URL: clerk.url,
    ...supabase,
  });
  assert.equal(backfill.code, 0, backfill.stderr);
  assert.equal(await apply(db, "msg_c", "user.updated", "user_c", T + 1000), "applied");

  const direct = await statusJson({ DATABASE_URL: db.url });
  const viaApi = await statusJson(supabase);
  assert.equal(viaApi.code, 0, JSON.stringify(viaApi.status));
  const { checked_at: _a, ...directRest } = direct.status;
  const { checked_at: _b, ...apiRest } = viaApi.status;
  assert.deepEqual(apiRest, directRest);
  assert.deepEqual(viaApi.status.last_run?.counts.users, { ...NO_COUNTS, fetched: 1, applied: 1 });

  // The publishable key (anon) may not read it.
  const anon = await runCli(STATUS, [], {
    SUPABASE_URL: api.url,
    SUPABASE_SERVICE_ROLE_KEY: PUBLISHABLE_KEY,
  });
  assert.equal(anon.code, 1);
});

Deno.test("npm run status exits 2 on a bad option or a missing setting, and 1 when the database has no status", async () => {
  await using db = await scratchDatabase();
  for (
    const [args, env, message] of [
      [
        ["--stall-after=soon"],
        { DATABASE_URL: db.url },
        /Not a duration like 30m, 6h or 2d: "soon"/,
      ],
      [["--max-refused=120"], { DATABASE_URL: db.url }, /--max-refused must be a percentage/],
      [["--verbose"], { DATABASE_URL: db.url }, /Unknown option '--verbose'/],
      [[], {}, /Configuration error: SUPABASE_URL: missing/],
    ] as const
  ) {
    const result = await runCli(STATUS, [...args], env);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  await db.sql`drop function public.clerk_sync_status()`;
  const missing = await runCli(STATUS, [], { DATABASE_URL: db.url });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Cannot read public\.clerk_sync_status\(\): .*does not exist/m);
});

Deno.test("npm run status counts the rows of the billing and waitlist tables, a subscription's items included", async () => {
  await using db = await scratchDatabase();
  const at = new Date(T).toISOString();
  const times = { clerk_created_at: at, clerk_updated_at: at };
  const item = (id: string) => ({
    clerk_id: id,
    status: "active",
    plan_slug: "pro",
    payer_user_id: "user_p",
    ...times,
  });
  const deliveries = [
    ["msg_b1", "subscription.created", "csub_1", {
      status: "active",
      payer_user_id: "user_p",
      items: [item("csub_item_1"), item("csub_item_2")],
      ...times,
    }],
    ["msg_b2", "waitlistEntry.created", "wle_1", {
      email_address: "w@example.com",
      status: "pending",
      ...times,
    }],
  ] as const;
  for (const [svixId, type, clerkId, state] of deliveries) {
    const [row] = await db.sql`
      select public.apply_clerk_event(${svixId}, ${type}, ${at}, ${clerkId},
        ${db.sql.json(state)}) as outcome`;
    assert.equal(row!.outcome, "applied", type);
  }
  const { status } = await statusJson({ DATABASE_URL: db.url });
  assert.deepEqual(status.rows, {
    organizations: 0,
    memberships: 0,
    invitations: 0,
    open_invitations: 0,
    roles: 0,
    permissions: 0,
    domains: 0,
    subscriptions: 1,
    subscription_items: 2,
    payment_attempts: 0,
    waitlist_entries: 1,
  });
  const text = await runCli(STATUS, [], { DATABASE_URL: db.url });
  assert.match(
    text.stdout,
    /^Rows: 0 organizations, 0 memberships, 0 invitations \(0 open\), 0 roles, 0 permissions, 0 domains, 1 subscriptions, 2 subscription items, 0 payment attempts, 1 waitlist entries$/m,
  );
});
