/**
 * `npm run backfill`: cli/backfill/backfill.ts as a process (net and env permissions
 * only) against the Clerk API stand-in and a real scratch database, and backfill() in
 * process where a test needs short retry delays.
 */
import assert from "node:assert/strict";
import { parseClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import type { Outcome, SyncStore } from "../functions/clerk-webhook/store.ts";
import { USER_SYNC_FORMAT } from "../functions/clerk-webhook/user.ts";
import { backfill, backfillKind } from "../cli/backfill/sync.ts";
import { ClerkApi, ClerkApiError } from "../functions/clerk-webhook/clerk_api.ts";
import { MEMBERSHIP } from "../functions/clerk-webhook/membership.ts";
import { ORGANIZATION, ORGANIZATIONS } from "../functions/clerk-webhook/organization.ts";
import { openPostgresDatabase } from "../functions/clerk-webhook/postgres_database.ts";
import { USER } from "../functions/clerk-webhook/user.ts";
import { DOMAIN } from "../functions/clerk-webhook/domain.ts";
import { INVITATION } from "../functions/clerk-webhook/invitation.ts";
import { PERMISSION } from "../functions/clerk-webhook/permission.ts";
import { ROLE } from "../functions/clerk-webhook/role.ts";
import {
  domainEvent,
  invitationEvent,
  membershipEvent,
  newClerkId,
  organizationEvent,
  permissionEvent,
  roleEvent,
  userEvent,
  type UserState,
} from "../dev/clerk_events.ts";
import { type ClerkApiStandIn, startClerkApiStandIn } from "../dev/stand_ins/clerk_api.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { startDataApi } from "../dev/data_api.ts";
import { serveLocally } from "./support/server.ts";
import { newSvixId } from "../dev/webhooks.ts";
import { type CommandResult, runDeno } from "./support/run_deno.ts";
import { directStore, testOn } from "./support/transports.ts";

const CLI = new URL("../cli/backfill/backfill.ts", import.meta.url);
const STATUS = new URL("../cli/status/status.ts", import.meta.url);
const SECRET_KEY = "sk_test_backfill0stand0in0key";
/** Clerk times of the tests' users: an hour ago, one second apart. */
const T0 = Date.now() - 60 * 60 * 1000;
const at = (second: number) => T0 + second * 1000;

/** Runs `npm run backfill -- …` (or `cli`) as users do, with only net and env permissions. */
function runCli(
  args: string[],
  env: Record<string, string>,
  cli: URL = CLI,
): Promise<CommandResult> {
  return runDeno(["--allow-net", "--allow-env", cli.href, ...args], env);
}

/** The one line a backfill prints on an instance with organizations off. */
const ORGANIZATIONS_OFF_LINE =
  "Organizations, memberships, invitations, permissions, roles and domains skipped: " +
  "organizations are off " +
  "on this Clerk instance (GET /v1/organizations answered 403 organization_not_enabled_in_instance)";

/** The lines of `output` that mention organizations or memberships. */
function organizationLines(output: string): string[] {
  return output.split("\n").filter((line) => /organization|membership/i.test(line));
}

/** The environment of a run against `clerk` and `db`. */
function cliEnv(clerk: ClerkApiStandIn, db: ScratchDatabase): Record<string, string> {
  return { CLERK_SECRET_KEY: SECRET_KEY, CLERK_API_URL: clerk.url, DATABASE_URL: db.url };
}

/** Delivers `event` as the webhook does: parsed, then applied under a fresh svix-id. */
async function deliver(store: SyncStore, event: Record<string, unknown>): Promise<Outcome> {
  return await store.apply(newSvixId(), parseClerkEvent(JSON.stringify(event)));
}

/** Delivers the `user.updated` of `state`, stamped `timestamp`. */
function webhook(
  store: SyncStore,
  state: UserState,
  timestamp: number = state.updatedAt,
): Promise<Outcome> {
  return deliver(store, userEvent("user.updated", state, timestamp));
}

/** A row of public.users, its Clerk updated_at in epoch milliseconds. */
interface Row {
  clerk_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  updated_ms: number;
  svix_id: string;
}

/** The synced columns of every row, by Clerk id. */
async function rows(db: ScratchDatabase): Promise<Row[]> {
  return [
    ...await db.sql<Row[]>`
      select clerk_id, email, first_name, last_name, image_url,
        (extract(epoch from clerk_updated_at) * 1000)::float8 as updated_ms, svix_id
      from public.users order by clerk_id`,
  ];
}

/** Everything the sync writes, rows and bookkeeping, to compare before and after. */
async function everything(db: ScratchDatabase): Promise<string> {
  const [state] = await db.sql`
    select
      (select coalesce(json_agg(u order by u.clerk_id), '[]') from public.users u) as users,
      (select coalesce(json_agg(d order by d.svix_id), '[]') from clerk_sync.deliveries d)
        as deliveries,
      (select coalesce(json_agg(t order by t.clerk_id), '[]') from clerk_sync.tombstones t)
        as tombstones`;
  return JSON.stringify(state);
}

function expectedRow(state: UserState): Row {
  return {
    clerk_id: state.id,
    email: state.email,
    first_name: state.firstName ?? null,
    last_name: state.lastName ?? null,
    image_url: state.imageUrl ?? `https://img.clerk.com/${state.id}`,
    updated_ms: state.updatedAt,
    svix_id: `backfill:${state.id}:${state.updatedAt}:${USER_SYNC_FORMAT}`,
  };
}

/** Five users of varied shapes, created a second apart. */
function fiveUsers(): UserState[] {
  return [0, 1, 2, 3, 4].map((n) => {
    const id = newClerkId();
    return {
      id,
      email: n === 2 ? null : `${id}@example.com`,
      firstName: n === 3 ? null : `First${n}`,
      lastName: `Last${n}`,
      createdAt: at(n),
      updatedAt: at(10 + n),
      ...(n === 4 ? { otherEmails: [`other-${id}@example.com`] } : {}),
    };
  }).sort((a, b) => a.id.localeCompare(b.id));
}

Deno.test("backfill applies every Clerk user over several pages, through a 429 and a 500", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    faults: { 2: { status: 429, retryAfter: 1 }, 4: { status: 500 } },
  });
  const users = fiveUsers();
  for (const user of users) clerk.put(user);

  const result = await runCli(["--page-size=2"], cliEnv(clerk, db));

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await rows(db), users.map(expectedRow));
  assert.match(
    result.stderr,
    /Backfill complete: 5 users fetched, 5 applied, 0 stale, 0 duplicate, 0 deleted\n/,
  );
  const served = clerk.requests.map(({ path, status }) => [path, status]);
  const page = (offset: number) => `/v1/users?limit=2&offset=${offset}&order_by=%2Bcreated_at`;
  assert.deepEqual(served, [
    [page(0), 200],
    [page(2), 429],
    [page(2), 200],
    [page(4), 500],
    [page(4), 200],
    // Then whether organizations are on, and the (empty) organizations and memberships;
    // the invitations and domains of each organization (none), the roles and permissions.
    ["/v1/organizations?limit=1&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organizations?limit=2&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organization_memberships?limit=2&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organizations?limit=500&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organization_permissions?limit=2&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organization_roles?limit=2&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/organizations?limit=500&offset=0&order_by=%2Bcreated_at", 200],
    // Whether billing is on, its (empty) subscription items, free plans' included; the waitlist.
    ["/v1/billing/subscription_items?limit=1&offset=0&order_by=%2Bcreated_at", 200],
    [
      "/v1/billing/subscription_items?limit=2&offset=0&order_by=%2Bcreated_at&include_free=true",
      200,
    ],
    ["/v1/waitlist_entries?limit=1&offset=0&order_by=%2Bcreated_at", 200],
    ["/v1/waitlist_entries?limit=2&offset=0&order_by=%2Bcreated_at", 200],
  ]);
  const waited = clerk.requests[2]!.at - clerk.requests[1]!.at;
  assert.ok(waited >= 1000, `retried ${waited} ms after Retry-After: 1`);
  assert.match(result.stderr, /429; retrying in 1 s \(attempt 2 of 6\)/);
});

Deno.test("backfill run twice changes nothing the second time: every user is a duplicate", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  for (const user of fiveUsers()) clerk.put(user);
  assert.equal((await runCli(["--page-size=2"], cliEnv(clerk, db))).code, 0);
  const before = await everything(db);

  const again = await runCli(["--page-size=2"], cliEnv(clerk, db));

  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /5 users fetched, 0 applied, 0 stale, 5 duplicate, 0 deleted\n/);
  assert.equal(await everything(db), before);
});

Deno.test("backfill keeps a newer webhook state, and a webhook of the same state wins the tie", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const store = directStore(db.url);
  try {
    const newer = { id: newClerkId(), email: null, firstName: "Old", updatedAt: at(1) };
    const same = { id: newClerkId(), email: null, firstName: "Same", updatedAt: at(2) };
    const later = { id: newClerkId(), email: null, firstName: "Later", updatedAt: at(3) };
    for (const user of [newer, same, later]) clerk.put(user);
    // While the snapshot is taken, the webhook brings a newer state, and the same state.
    assert.equal(await webhook(store, { ...newer, firstName: "New", updatedAt: at(5) }), "applied");
    assert.equal(await webhook(store, same), "applied");

    const result = await runCli([], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /3 users fetched, 1 applied, 2 stale, 0 duplicate/);
    const byId = new Map((await rows(db)).map((row) => [row.clerk_id, row]));
    assert.equal(byId.get(newer.id)?.first_name, "New");
    assert.match(String(byId.get(newer.id)?.svix_id), /^msg_/);
    assert.match(String(byId.get(same.id)?.svix_id), /^msg_/, "the webhook's delivery stays");
    assert.deepEqual(byId.get(later.id), expectedRow(later));
    // The webhook of a state the backfill already wrote still applies: it wins the tie.
    assert.equal(await webhook(store, later), "applied");
  } finally {
    await store.close();
  }
});

Deno.test("backfill --reconcile deletes a row whose user is gone, not one created after the listing", async () => {
  await using db = await scratchDatabase();
  const store = directStore(db.url);
  const kept = { id: newClerkId(), email: null, createdAt: at(0), updatedAt: at(1) };
  const gone = { id: newClerkId(), email: null, createdAt: at(0), updatedAt: at(2) };
  const late = { id: newClerkId(), email: null, createdAt: at(30), updatedAt: at(30) };
  let lateCreated = false;
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    // Once the listing has ended, a user signs up and its webhook is applied.
    async onListPage({ users }) {
      if (users.length === 0 && !lateCreated) {
        lateCreated = true;
        clerk.put(late);
        assert.equal(await webhook(store, late), "applied");
      }
    },
  });
  try {
    clerk.put(kept);
    assert.equal(await webhook(store, kept), "applied");
    assert.equal(await webhook(store, gone), "applied"); // deleted in Clerk; its webhook lost

    const result = await runCli(["--reconcile", "--page-size=1"], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    assert.ok(lateCreated);
    assert.deepEqual((await rows(db)).map((row) => row.clerk_id), [kept.id, late.id].sort());
    const tombstones = await db.sql`select clerk_id, svix_id from clerk_sync.tombstones`;
    assert.deepEqual([...tombstones], [{ clerk_id: gone.id, svix_id: `reconcile:${gone.id}` }]);
    const confirmations = clerk.requests.filter(({ path }) => !path.includes("?"));
    assert.deepEqual(
      confirmations.map(({ path, status }) => [path, status]).sort(),
      [
        [`/v1/users/${gone.id}`, 404],
        [`/v1/users/${late.id}`, 200],
      ].sort(),
    );
    assert.match(result.stderr, /2 rows missing from the listing, 1 gone from Clerk/);
    assert.match(result.stderr, /, 1 deleted\n/);
  } finally {
    await store.close();
  }
});

Deno.test("backfill --reconcile erases a gone user's row that an app's foreign key holds, as a user.deleted does", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const store = directStore(db.url);
  try {
    const kept = { id: newClerkId(), email: null, createdAt: at(0), updatedAt: at(1) };
    const gone = {
      id: newClerkId(),
      email: "gone@example.com",
      firstName: "Gone",
      createdAt: at(0),
      updatedAt: at(2),
    };
    clerk.put(kept);
    for (const user of [kept, gone]) assert.equal(await webhook(store, user), "applied");
    await db.sql`create table public.orders (buyer uuid references public.users (id))`;
    await db.sql`insert into public.orders select id from public.users where clerk_id = ${gone.id}`;

    const result = await runCli(["--reconcile"], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    const [row] = await db.sql`
      select email, first_name, deleted_at is not null as deleted
      from public.users where clerk_id = ${gone.id}`;
    assert.deepEqual({ ...row }, { email: null, first_name: null, deleted: true });
    assert.match(result.stderr, /, 1 deleted\n/);
  } finally {
    await store.close();
  }
});

Deno.test("backfill brings organizations and memberships, and --reconcile removes those Clerk no longer has", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const tag = crypto.randomUUID().slice(0, 8);
  const [acme, globex, gone] = [`org_acme_${tag}`, `org_globex_${tag}`, `org_gone_${tag}`];
  const [ada, bob] = [newClerkId(), newClerkId()];
  for (const id of [acme, globex]) clerk.putOrganization({ id, updatedAt: at(1) });
  const member = (id: string, org: string, user: string, role = "org:member") => ({
    id: `orgmem_${id}_${tag}`,
    organizationId: org,
    userId: user,
    role,
    updatedAt: at(2),
  });
  clerk.putMembership(member("ada_acme", acme, ada, "admin"));
  clerk.putMembership(member("bob_acme", acme, bob));
  clerk.putMembership(member("bob_globex", globex, bob));

  const first = await runCli(["--page-size=2"], cliEnv(clerk, db));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /Backfill complete: 2 organizations fetched, 2 applied/);
  assert.match(first.stderr, /Backfill complete: 3 memberships fetched, 3 applied/);
  const members = async () =>
    [
      ...await db.sql`select clerk_id, organization_id, role from public.organization_memberships
      order by clerk_id`,
    ].map((row) => `${row.clerk_id} ${row.organization_id} ${row.role}`);
  assert.deepEqual(await members(), [
    `orgmem_ada_acme_${tag} ${acme} org:admin`,
    `orgmem_bob_acme_${tag} ${acme} org:member`,
    `orgmem_bob_globex_${tag} ${globex} org:member`,
  ]);

  // In Clerk since: bob left acme, globex was deleted (with bob's membership), and an
  // organization that webhooks had brought is gone too.
  const goneState = db.sql.json({
    name: "Gone",
    clerk_created_at: new Date(at(0)).toISOString(),
    clerk_updated_at: new Date(at(0)).toISOString(),
  });
  await db.sql`select public.apply_clerk_event('msg_gone', 'organization.created', now(),
    ${gone}, ${goneState})`;
  clerk.removeMembership(`orgmem_bob_acme_${tag}`);
  clerk.removeOrganization(globex);
  const second = await runCli(["--reconcile"], cliEnv(clerk, db));
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await members(), [`orgmem_ada_acme_${tag} ${acme} org:admin`]);
  const orgs = await db.sql`select clerk_id from public.organizations order by clerk_id`;
  assert.deepEqual(orgs.map((row) => row.clerk_id), [acme]);
  assert.match(second.stderr, /Backfill complete: 1 organizations fetched, .*, 2 deleted\n/);
  assert.match(second.stderr, /Backfill complete: 1 memberships fetched, .*, 1 deleted\n/);
});

Deno.test("backfill brings invitations and domains per organization, roles and permissions instance-wide; --reconcile removes the roles, permissions and domains Clerk no longer has", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const tag = crypto.randomUUID().slice(0, 8);
  const [acme, globex] = [`org_acme_${tag}`, `org_globex_${tag}`];
  for (const id of [acme, globex]) clerk.putOrganization({ id, updatedAt: at(1) });
  const invite = (org: string) =>
    clerk.putObject(
      INVITATION,
      invitationEvent("organizationInvitation.created", {
        id: `orginv_${org}`,
        organizationId: org,
        updatedAt: at(2),
      }),
    );
  invite(acme);
  invite(globex);
  const domain = (name: string, org: string) =>
    clerk.putObject(
      DOMAIN,
      domainEvent("organizationDomain.created", {
        id: `orgdmn_${name}_${tag}`,
        organizationId: org,
        updatedAt: at(2),
      }),
    );
  domain("acme", acme);
  domain("globex", globex);
  for (const [name, permissions] of [["editor", ["org:posts:write"]], ["viewer", []]] as const) {
    clerk.putObject(
      ROLE,
      roleEvent("role.created", {
        id: `role_${name}_${tag}`,
        key: `org:${name}`,
        permissions: [...permissions],
        updatedAt: at(3),
      }),
    );
  }
  clerk.putObject(
    PERMISSION,
    permissionEvent("permission.created", {
      id: `perm_write_${tag}`,
      key: "org:posts:write",
      updatedAt: at(3),
    }),
  );
  const tables = async () => {
    const [row] = await db.sql`select
      (select array_agg(organization_id order by organization_id collate "C")
        from public.organization_invitations) as invitations,
      (select array_agg(clerk_id order by clerk_id collate "C") from public.organization_domains)
        as domains,
      (select array_agg(key || ' ' || array_to_string(permissions, ',') order by key collate "C")
        from public.organization_roles) as roles,
      (select array_agg(key) from public.organization_permissions) as permissions`;
    return { ...row };
  };

  const first = await runCli(["--page-size=2"], cliEnv(clerk, db));
  assert.equal(first.code, 0, first.stderr);
  for (
    const [count, noun] of [[2, "invitations"], [2, "domains"], [2, "roles"], [1, "permissions"]]
  ) {
    assert.match(
      first.stderr,
      new RegExp(`Backfill complete: ${count} ${noun} fetched, ${count} applied`),
    );
  }
  assert.deepEqual(await tables(), {
    invitations: [acme, globex],
    domains: [`orgdmn_acme_${tag}`, `orgdmn_globex_${tag}`],
    roles: ["org:editor org:posts:write", "org:viewer "],
    permissions: ["org:posts:write"],
  });

  // In Clerk since: the viewer role and the acme domain were deleted.
  clerk.removeObject(ROLE, `role_viewer_${tag}`);
  clerk.removeObject(DOMAIN, `orgdmn_acme_${tag}`);
  const second = await runCli(["--reconcile"], cliEnv(clerk, db));
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await tables(), {
    invitations: [acme, globex],
    domains: [`orgdmn_globex_${tag}`],
    roles: ["org:editor org:posts:write"],
    permissions: ["org:posts:write"],
  });
});

Deno.test("backfill --reconcile refuses to delete most rows, as when the key is another instance's", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const store = directStore(db.url);
  try {
    for (let n = 0; n < 11; n++) {
      await webhook(store, { id: newClerkId(), email: null, updatedAt: at(n) });
    }
    const before = await everything(db);

    const refused = await runCli(["--reconcile"], cliEnv(clerk, db));

    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Backfill failed: Refusing to delete 11 of 11 rows \(the limit is 10\).*--max-deletes=11/,
    );
    assert.equal(await everything(db), before);

    const allowed = await runCli(["--reconcile", "--max-deletes=11"], cliEnv(clerk, db));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(await rows(db), []);
  } finally {
    await store.close();
  }
});

Deno.test("backfill --dry-run --reconcile prints the creates, updates and deletes, and changes nothing", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const store = directStore(db.url);
  try {
    const created = { id: newClerkId(), email: null, updatedAt: at(1) };
    const updated = { id: newClerkId(), email: null, firstName: "Now", updatedAt: at(3) };
    const unchanged = { id: newClerkId(), email: null, updatedAt: at(4) };
    const gone = { id: newClerkId(), email: null, updatedAt: at(5) };
    for (const user of [created, updated, unchanged]) clerk.put(user);
    await webhook(store, { ...updated, firstName: "Before", updatedAt: at(2) });
    await webhook(store, unchanged);
    await webhook(store, gone);
    const before = await everything(db);

    const result = await runCli(["--dry-run", "--reconcile"], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n").sort(), [
      `create ${created.id}`,
      `delete ${gone.id}`,
      `update ${updated.id}`,
    ]);
    assert.match(
      result.stderr,
      /Dry run complete, nothing changed: 3 users fetched; would create 1, update 1, delete 1; 1 unchanged/,
    );
    assert.equal(await everything(db), before);
  } finally {
    await store.close();
  }
});

Deno.test("backfill skips a user the webhook would refuse, names it, and exits 1 after the rest", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const valid = { id: newClerkId(), email: null, updatedAt: at(1) };
  const invalid = { id: newClerkId(), email: null, firstName: "x".repeat(3000), updatedAt: at(2) };
  clerk.put(valid);
  clerk.put(invalid);

  const result = await runCli([], cliEnv(clerk, db));

  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`Skipping Clerk user "${invalid.id}": .*data\\.first_name: Too big`),
  );
  assert.match(result.stderr, /2 users fetched, 1 applied, .*, 1 invalid\n/);
  assert.deepEqual(await rows(db), [expectedRow(valid)]);
});

Deno.test("backfill with a wrong CLERK_SECRET_KEY says so, exits non-zero and writes nothing", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  clerk.put({ id: newClerkId(), email: null, updatedAt: at(1) });

  const wrong = await runCli([], { ...cliEnv(clerk, db), CLERK_SECRET_KEY: "sk_test_wrong0key" });

  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /Backfill failed: Clerk API answered 401 to GET \/v1\/users\?.*: The provided Clerk Secret Key is invalid\. .*\(clerk_key_invalid\); check CLERK_SECRET_KEY: it must be the Secret key of the Clerk instance this database syncs \(Clerk dashboard → API keys → Secret keys\), and this one is a development instance's key\n/,
  );
  assert.doesNotMatch(wrong.stderr, /sk_test_wrong0key/, "the key is not printed");
  assert.deepEqual(clerk.requests.map(({ status }) => status), [401], "a 401 is not retried");
  assert.deepEqual(await rows(db), []);

  const missing = await runCli([], { CLERK_API_URL: clerk.url, DATABASE_URL: db.url });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Configuration error: CLERK_SECRET_KEY: missing/);
});

Deno.test("backfill with a publishable key, a webhook secret or another value in CLERK_SECRET_KEY says which key goes where, and contacts nothing", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  clerk.put({ id: newClerkId(), email: null, updatedAt: at(1) });
  const instead =
    "set the instance's Secret key \\(sk_live_… or sk_test_…\\) from the Clerk dashboard → " +
    "API keys → Secret keys\\n";
  const publishable = new RegExp(
    "this is a Clerk publishable key \\(pk_…\\), which is for the app's front end, not the secret " +
      `key: ${instead}`,
  );
  const webhookSecret = new RegExp(
    "this is a webhook signing secret \\(whsec_…\\), which is CLERK_WEBHOOK_SECRET of the " +
      `clerk-webhook function, not the secret key: ${instead}`,
  );
  const supabaseKey = new RegExp(
    "this is a Supabase API key \\(sb_…\\), which the function gets from " +
      `SUPABASE_SECRET_KEYS, not the secret key: ${instead}`,
  );
  const other = new RegExp(`not a Clerk secret key, which starts sk_live_ or sk_test_: ${instead}`);
  const cases: [string, RegExp][] = [
    ["pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", publishable],
    ["pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", publishable],
    ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", webhookSecret],
    ["sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz", supabaseKey],
    ["test_0legacy0api0key", other],
    ['"sk_test_0quoted0key"', other],
  ];
  for (const [key, says] of cases) {
    const result = await runCli([], { ...cliEnv(clerk, db), CLERK_SECRET_KEY: key });
    assert.equal(result.code, 2, `${key}: ${result.stderr}`);
    assert.match(result.stderr, /^Configuration error: CLERK_SECRET_KEY: /, key);
    assert.match(result.stderr, says, key);
    assert.ok(!result.stderr.includes(key), `${key} is not printed`);
  }
  assert.deepEqual(clerk.requests, [], "no request reached Clerk");
  assert.deepEqual(await rows(db), []);
  assert.deepEqual([...await db.sql`select id from clerk_sync.backfill_runs`], []);
});

Deno.test("backfill on an instance with organizations off syncs the users, says so in one line, exits 0, and records the skip that npm run status shows; a rerun too", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY, organizations: false });
  const users = fiveUsers();
  for (const user of users) clerk.put(user);

  const first = await runCli([], cliEnv(clerk, db));

  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(await rows(db), users.map(expectedRow));
  assert.deepEqual(organizationLines(first.stderr), [ORGANIZATIONS_OFF_LINE]);
  assert.match(first.stderr, /Backfill complete: 5 users fetched, 5 applied, /);
  assert.doesNotMatch(first.stderr, /CLERK_SECRET_KEY|failed/);
  const reason = "organizations are off on this Clerk instance";
  const [run] = await db.sql`select mode, ok, counts, error from clerk_sync.backfill_runs`;
  assert.deepEqual({ ...run }, {
    mode: "backfill",
    ok: true,
    counts: {
      users: { fetched: 5, applied: 5, stale: 0, duplicate: 0, deleted: 0, invalid: 0 },
      organizations: { skipped: reason },
      memberships: { skipped: reason },
      "subscription items": {
        fetched: 0,
        applied: 0,
        stale: 0,
        duplicate: 0,
        deleted: 0,
        invalid: 0,
      },
      "waitlist entries": {
        fetched: 0,
        applied: 0,
        stale: 0,
        duplicate: 0,
        deleted: 0,
        invalid: 0,
      },
      invitations: { skipped: reason },
      permissions: { skipped: reason },
      roles: { skipped: reason },
      domains: { skipped: reason },
    },
    error: null,
  });
  const status = await runCli([], { DATABASE_URL: db.url }, STATUS);
  assert.match(status.stdout, /^Last backfill run: backfill, finished .*, ok$/m, status.stderr);
  assert.match(status.stdout, new RegExp(`^  organizations: skipped: ${reason}$`, "m"));
  assert.match(status.stdout, new RegExp(`^  memberships: skipped: ${reason}$`, "m"));

  const before = await everything(db);
  const again = await runCli([], cliEnv(clerk, db));

  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /5 users fetched, 0 applied, 0 stale, 5 duplicate, 0 deleted\n/);
  assert.deepEqual(organizationLines(again.stderr), [ORGANIZATIONS_OFF_LINE]);
  assert.equal(await everything(db), before);
  // Each run asked once whether organizations are on, and nothing else of them.
  const probe = "/v1/organizations?limit=1&offset=0&order_by=%2Bcreated_at";
  assert.deepEqual(
    clerk.requests.filter(({ path }) => path.startsWith("/v1/organization")).map((r) => [
      r.path,
      r.status,
    ]),
    [[probe, 403], [probe, 403]],
  );
});

/** An organization and a membership of it, delivered by webhooks before organizations were turned off. */
async function organizationRows(store: SyncStore): Promise<{ org: string; membership: string }> {
  const tag = crypto.randomUUID().slice(0, 8);
  const org = `org_kept_${tag}`;
  const membership = `orgmem_kept_${tag}`;
  assert.equal(
    await deliver(store, organizationEvent("organization.created", { id: org, updatedAt: at(1) })),
    "applied",
  );
  assert.equal(
    await deliver(
      store,
      membershipEvent("organizationMembership.created", {
        id: membership,
        organizationId: org,
        userId: newClerkId(),
        updatedAt: at(2),
      }),
    ),
    "applied",
  );
  return { org, membership };
}

/** The organization and membership tables, private ones included, and their tombstones. */
async function organizationTables(db: ScratchDatabase): Promise<string> {
  const [state] = await db.sql`
    select
      (select json_agg(o order by o.clerk_id) from public.organizations o) as organizations,
      (select json_agg(p order by p.clerk_id) from public.organizations_private p) as private,
      (select json_agg(m order by m.clerk_id) from public.organization_memberships m)
        as memberships,
      (select json_agg(q order by q.clerk_id) from public.organization_memberships_private q)
        as memberships_private,
      (select json_agg(t order by t.clerk_id) from clerk_sync.tombstones t
        where t.entity <> 'user') as tombstones`;
  return JSON.stringify(state);
}

Deno.test("backfill --reconcile on an instance with organizations off deletes gone users and leaves every organization and membership row as it is", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY, organizations: false });
  const store = directStore(db.url);
  try {
    const kept = { id: newClerkId(), email: null, updatedAt: at(1) };
    const gone = { id: newClerkId(), email: null, updatedAt: at(2) };
    clerk.put(kept);
    for (const user of [kept, gone]) assert.equal(await webhook(store, user), "applied");
    const { org, membership } = await organizationRows(store);
    const before = await organizationTables(db);

    const result = await runCli(["--reconcile"], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(organizationLines(result.stderr), [ORGANIZATIONS_OFF_LINE]);
    assert.match(result.stderr, /1 users fetched, 0 applied, 1 stale, 0 duplicate, 1 deleted\n/);
    assert.deepEqual((await rows(db)).map((row) => row.clerk_id), [kept.id]);
    assert.equal(await organizationTables(db), before);
    const [orgRow] = await db.sql`select count(*)::int as n from public.organizations
      where clerk_id = ${org}`;
    const [memberRow] = await db.sql`select count(*)::int as n
      from public.organization_memberships where clerk_id = ${membership}`;
    assert.deepEqual([orgRow!.n, memberRow!.n], [1, 1]);
    const [run] = await db.sql`select mode, ok, counts from clerk_sync.backfill_runs`;
    assert.deepEqual([run!.mode, run!.ok, run!.counts.organizations], [
      "reconcile",
      true,
      { skipped: "organizations are off on this Clerk instance" },
    ]);
  } finally {
    await store.close();
  }
});

Deno.test("backfill --dry-run --reconcile on an instance with organizations off plans the users only and prints the same line", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY, organizations: false });
  const store = directStore(db.url);
  try {
    const created = { id: newClerkId(), email: null, updatedAt: at(1) };
    const gone = { id: newClerkId(), email: null, updatedAt: at(2) };
    clerk.put(created);
    await webhook(store, gone);
    await organizationRows(store);
    const before = await everything(db) + await organizationTables(db);

    const result = await runCli(["--dry-run", "--reconcile"], cliEnv(clerk, db));

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n").sort(), [
      `create ${created.id}`,
      `delete ${gone.id}`,
    ]);
    assert.deepEqual(organizationLines(result.stderr), [ORGANIZATIONS_OFF_LINE]);
    assert.equal(await everything(db) + await organizationTables(db), before);
    assert.deepEqual([...await db.sql`select id from clerk_sync.backfill_runs`], []);
  } finally {
    await store.close();
  }
});

Deno.test("backfill --reconcile deletes no organization when Clerk refuses the organization listing, even after saying organizations are on", async () => {
  await using db = await scratchDatabase();
  const user = { id: newClerkId(), email: null, updatedAt: at(1) };
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    // 1: the users, 2: whether organizations are on (yes), 3: the organizations: refused.
    faults: {
      3: {
        status: 403,
        error: {
          code: ORGANIZATIONS.offCode!,
          message: "access denied",
          long_message: "The organizations feature is not enabled for this instance.",
        },
      },
    },
  });
  clerk.put(user);
  const store = directStore(db.url);
  try {
    await webhook(store, user);
    await organizationRows(store); // Not in Clerk: a listing read as "none" would delete it.
    const before = await organizationTables(db);

    const result = await runCli(["--reconcile"], cliEnv(clerk, db));

    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /Backfill failed: Clerk API answered 403 to GET \/v1\/organizations\?limit=500&offset=0&order_by=%2Bcreated_at: The organizations feature is not enabled for this instance\. \(organization_not_enabled_in_instance\)\n/,
    );
    assert.doesNotMatch(result.stderr, /CLERK_SECRET_KEY/);
    assert.equal(await organizationTables(db), before);
  } finally {
    await store.close();
  }
});

Deno.test("backfill reports another Clerk error with Clerk's own code and message, and no word about the key", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    faults: {
      1: {
        status: 422,
        error: {
          code: "form_param_value_invalid",
          message: "is invalid",
          long_message: "order_by is not a valid sorting field",
          meta: { param_name: "order_by" },
        },
      },
    },
  });
  clerk.put({ id: newClerkId(), email: null, updatedAt: at(1) });

  const result = await runCli([], cliEnv(clerk, db));

  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /Backfill failed: Clerk API answered 422 to GET \/v1\/users\?limit=500&offset=0&order_by=%2Bcreated_at: order_by is not a valid sorting field \(form_param_value_invalid\)\n/,
  );
  assert.doesNotMatch(result.stderr, /CLERK_SECRET_KEY/);
  assert.deepEqual(clerk.requests.map(({ status }) => status), [422], "a 422 is not retried");
  assert.deepEqual(await rows(db), []);
});

Deno.test("ClerkApi.enabled(ORGANIZATIONS) takes only Clerk's organization_not_enabled_in_instance as off; the listings then fail, never answer none", async () => {
  const page = { limit: 10, offset: 0 };
  await using on = startClerkApiStandIn({ secretKey: SECRET_KEY });
  assert.equal(
    await new ClerkApi({ secretKey: SECRET_KEY, apiUrl: on.url }).enabled(ORGANIZATIONS),
    true,
  );

  await using off = startClerkApiStandIn({ secretKey: SECRET_KEY, organizations: false });
  const api = new ClerkApi({ secretKey: SECRET_KEY, apiUrl: off.url });
  assert.equal(await api.enabled(ORGANIZATIONS), false);
  const refusedForOrganizationsOff = (error: unknown) =>
    error instanceof ClerkApiError && error.status === 403 &&
    error.code === ORGANIZATIONS.offCode &&
    /: The organizations feature is not enabled for this instance\. \(organization_not_enabled_in_instance\)$/
      .test(error.message);
  await assert.rejects(api.list(ORGANIZATION.clerk, page), refusedForOrganizationsOff);
  await assert.rejects(api.list(MEMBERSHIP.clerk, page), refusedForOrganizationsOff);
  await assert.rejects(api.find(ORGANIZATION.clerk, "org_1"), refusedForOrganizationsOff);
  await assert.rejects(
    api.find(MEMBERSHIP.clerk, "orgmem_1", { organization_id: "org_1" }),
    refusedForOrganizationsOff,
  );

  // A 403 that refuses the key is no "off": it fails, and says to check the key.
  await using refusing = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    faults: {
      1: {
        status: 403,
        error: {
          code: "authorization_invalid",
          message: "Unauthorized request",
          long_message: "You are not authorized to perform this request",
        },
      },
    },
  });
  await assert.rejects(
    new ClerkApi({ secretKey: SECRET_KEY, apiUrl: refusing.url }).enabled(ORGANIZATIONS),
    (error: unknown) =>
      error instanceof ClerkApiError && error.status === 403 &&
      /: You are not authorized to perform this request \(authorization_invalid\); check CLERK_SECRET_KEY: .*, and this one is a development instance's key$/
        .test(error.message),
  );
});

Deno.test("backfill() gives up on a lasting 5xx with a clear error, keeping the pages it applied", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    faults: { 2: { status: 503 }, 3: { status: 503 }, 4: { status: 503 } },
  });
  const users = fiveUsers().sort((a, b) => a.createdAt! - b.createdAt!);
  for (const user of users) clerk.put(user);
  const store = directStore(db.url);
  const progress: string[] = [];
  try {
    await assert.rejects(
      backfill({
        kind: backfillKind(
          USER,
          new ClerkApi({ secretKey: SECRET_KEY, apiUrl: clerk.url, retries: 2, backoffMs: 5 }),
          openPostgresDatabase(db.url),
        ),
        store,
        pageSize: 2,
        onProgress: (line) => progress.push(line),
      }),
      (error: unknown) =>
        error instanceof ClerkApiError && error.status === 503 &&
        /answered 503 to GET \/v1\/users\?limit=2&offset=2.*: There was an internal error \(internal_clerk_error\); gave up after 3 attempts$/
          .test(error.message),
    );
  } finally {
    await store.close();
  }
  assert.deepEqual(await rows(db), users.slice(0, 2).map(expectedRow).sort(byId));
  assert.equal(
    progress.at(-1),
    "Stopped after 2 users fetched, 2 applied, 0 stale, 0 duplicate, 0 deleted",
  );
});

Deno.test("backfill() skips nobody when users are deleted in Clerk while it pages", async () => {
  await using db = await scratchDatabase();
  const users = Array.from({ length: 25 }, (_, n) => ({
    id: newClerkId(),
    email: null,
    createdAt: at(n),
    updatedAt: at(n),
  }));
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    // Right after the first page, a user on it is deleted: later users move up one place.
    onListPage: ({ offset }) => offset === 0 ? clerk.remove(users[3]!.id) : undefined,
  });
  for (const user of users) clerk.put(user);
  const store = directStore(db.url);
  try {
    await backfill({
      kind: backfillKind(
        USER,
        new ClerkApi({ secretKey: SECRET_KEY, apiUrl: clerk.url }),
        openPostgresDatabase(db.url),
      ),
      store,
      pageSize: 10,
    });
  } finally {
    await store.close();
  }
  const synced = new Set((await rows(db)).map((row) => row.clerk_id));
  assert.deepEqual(users.filter((user) => !synced.has(user.id)), []);
});

/** Ignored, never passed, where npm has no PostgREST build. */
const test = testOn("supabase");

test("backfill --reconcile works through the Supabase Data API as well", async () => {
  await using db = await scratchDatabase();
  const secretKey = "sb_secret_backfill0data0api";
  await using api = await startDataApi({ databaseUrl: db.url, secretKey });
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const store = directStore(db.url);
  const users = fiveUsers();
  const gone = { id: newClerkId(), email: null, updatedAt: at(9) };
  try {
    for (const user of users) clerk.put(user);
    await webhook(store, gone);
  } finally {
    await store.close();
  }

  const result = await runCli(["--reconcile", "--page-size=2"], {
    CLERK_SECRET_KEY: SECRET_KEY,
    CLERK_API_URL: clerk.url,
    SUPABASE_URL: api.url,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
  });

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /5 users fetched, 5 applied, 0 stale, 0 duplicate, 1 deleted\n/);
  assert.deepEqual(await rows(db), users.map(expectedRow));
});

Deno.test("ClerkApi.find() takes only Clerk's resource_not_found as gone, never another 404", async () => {
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const user = clerk.put({ id: newClerkId(), email: null, updatedAt: at(1) });
  const api = new ClerkApi({ secretKey: SECRET_KEY, apiUrl: clerk.url });
  assert.deepEqual(await api.find(USER.clerk, String(user.id)), user);
  assert.equal(await api.find(USER.clerk, newClerkId()), null);

  // A CLERK_API_URL that is not Clerk's (a proxy, a typo) answers its own 404s.
  await using proxy = serveLocally(() =>
    Promise.resolve(new Response("<h1>Not Found</h1>", { status: 404 }))
  );
  const wrong = new ClerkApi({ secretKey: SECRET_KEY, apiUrl: proxy.url });
  await assert.rejects(
    wrong.find(USER.clerk, newClerkId()),
    (error: unknown) => error instanceof ClerkApiError && error.status === 404,
  );
});

function byId(a: { clerk_id: string }, b: { clerk_id: string }): number {
  return a.clerk_id.localeCompare(b.clerk_id);
}

Deno.test("backfill brings Clerk's subscription items, free plans' included, and waitlist entries, and keeps an item's newer webhook state", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
  const [user, org] = [newClerkId(), "org_backfill_billing"];
  clerk.putSubscriptionItem({
    id: "csub_item_bf_pro",
    subscriptionId: "csub_bf_user",
    payer: { userId: user },
    planSlug: "pro",
    updatedAt: at(1),
  });
  clerk.putSubscriptionItem({
    id: "csub_item_bf_free",
    subscriptionId: "csub_bf_org",
    payer: { organizationId: org },
    planSlug: "free",
    periodEnd: null,
    updatedAt: at(1),
  });
  clerk.putWaitlistEntry({
    id: "wle_bf",
    emailAddress: "waiting@example.com",
    status: "invited",
    updatedAt: at(1),
  });
  // A webhook already brought the pro item, canceled since: newer than Clerk's listing.
  const [applied] = await db.sql`
    select public.apply_clerk_event('msg_bf', 'subscriptionItem.canceled',
      ${new Date(at(2)).toISOString()}, 'csub_item_bf_pro', ${
    db.sql.json({
      subscription_id: "csub_bf_user",
      plan_slug: "pro",
      status: "canceled",
      payer_user_id: user,
      clerk_created_at: new Date(at(1)).toISOString(),
      clerk_updated_at: new Date(at(2)).toISOString(),
    })
  }) as outcome`;
  assert.equal(applied!.outcome, "applied");

  const result = await runCli([], cliEnv(clerk, db));

  assert.equal(result.code, 0, result.stderr);
  const items = await db.sql`
    select clerk_id, subscription_id, plan_slug, interval, status, payer_user_id,
      payer_organization_id
    from public.billing_subscription_items order by clerk_id`;
  assert.deepEqual([...items], [
    {
      clerk_id: "csub_item_bf_free",
      // Clerk's listing does not say which subscription an item belongs to.
      subscription_id: null,
      plan_slug: "free",
      interval: "month",
      status: "active",
      payer_user_id: null,
      payer_organization_id: org,
    },
    {
      clerk_id: "csub_item_bf_pro",
      subscription_id: "csub_bf_user",
      plan_slug: "pro",
      interval: null,
      status: "canceled",
      payer_user_id: user,
      payer_organization_id: null,
    },
  ]);
  const entries = await db.sql`select clerk_id, email_address, status from public.waitlist_entries`;
  assert.deepEqual([...entries], [{
    clerk_id: "wle_bf",
    email_address: "waiting@example.com",
    status: "invited",
  }]);
  assert.match(
    result.stderr,
    /2 subscription items fetched, 1 applied, 1 stale, 0 duplicate, 0 deleted/,
  );
  assert.match(result.stderr, /1 waitlist entries fetched, 1 applied/);
  assert.match(
    result.stderr,
    /^Subscriptions and payment attempts not backfilled: Clerk's Backend API does not list them instance-wide/m,
  );
  const listing = clerk.requests.find(({ path }) =>
    path.startsWith("/v1/billing/") && path.includes("include_free")
  );
  assert.ok(listing, "the listing asks for free plans' items too");
});

Deno.test("backfill on an instance with billing off skips the subscription items in one line and brings the rest", async () => {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY, billing: false });
  const users = fiveUsers();
  for (const user of users) clerk.put(user);
  clerk.putWaitlistEntry({ id: "wle_off", emailAddress: "off@example.com", updatedAt: at(1) });

  const result = await runCli([], cliEnv(clerk, db));

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await rows(db), users.map(expectedRow));
  assert.deepEqual(result.stderr.split("\n").filter((line) => /subscription items/i.test(line)), [
    "Subscription items skipped: billing features are off on this Clerk instance " +
    "(GET /v1/billing/subscription_items answered 403)",
  ]);
  const [counts] = await db.sql`
    select (select count(*)::int from public.waitlist_entries) as entries,
      (select counts -> 'subscription items' from clerk_sync.backfill_runs) as skipped`;
  assert.deepEqual({ ...counts }, {
    entries: 1,
    skipped: { skipped: "billing features are off on this Clerk instance" },
  });
});
