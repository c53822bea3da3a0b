/**
 * `POST /sync` through the function's HTTP interface, as a process: Clerk session tokens
 * from a stand-in Clerk instance (its JWKS over HTTP), the user from the Clerk API
 * stand-in, the rows in a real database. One test per answer: 401, present, deleted (410),
 * applied, 404, 429 and 503 with Retry-After, one Clerk request for concurrent calls, CORS.
 */
import assert from "node:assert/strict";
import { deletedEvent, newClerkId, userEvent } from "../dev/clerk_events.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { type FunctionProcess, startFunction } from "../dev/function_process.ts";
import {
  type ClerkApiStandIn,
  type Fault,
  startClerkApiStandIn,
} from "../dev/stand_ins/clerk_api.ts";
import { type ClerkSessions, startClerkSessions } from "../dev/stand_ins/clerk_sessions.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";

const SECRET_KEY = "sk_test_sync0on0demand0key";
const APP = "https://app.example.com";

/** The function with /sync configured, its database, Clerk's API and session tokens. */
interface Rig {
  db: ScratchDatabase;
  clerk: ClerkApiStandIn;
  sessions: ClerkSessions;
  fn: FunctionProcess;
  secret: string;
  /** POSTs to `path` (default /sync) with `token` as the bearer. */
  sync(token: string | null, init?: { path?: string; origin?: string }): Promise<Response>;
  /** Rows written anywhere by the sync. */
  written(): Promise<number>;
  /** Requests Clerk's API answered for user `id`. */
  asked(id: string): number;
}

async function withRig(
  test: (rig: Rig) => Promise<void>,
  options: {
    faults?: Record<number, Fault>;
    organizations?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<void> {
  await using db = await scratchDatabase();
  await using clerk = startClerkApiStandIn({
    secretKey: SECRET_KEY,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.organizations === undefined ? {} : { organizations: options.organizations }),
  });
  await using sessions = await startClerkSessions();
  const secret = newSecret();
  await using fn = await startFunction({
    CLERK_WEBHOOK_SECRET: secret,
    DATABASE_URL: db.url,
    CLERK_SECRET_KEY: SECRET_KEY,
    CLERK_API_URL: clerk.url,
    CLERK_JWKS_URL: sessions.jwksUrl,
    CLERK_AUTHORIZED_PARTIES: APP,
    ...options.env,
  });
  await test({
    db,
    clerk,
    sessions,
    fn,
    secret,
    sync: (token, init = {}) =>
      fetch(new URL(init.path ?? "/sync", fn.url), {
        method: "POST",
        headers: {
          ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
          ...(init.origin === undefined ? {} : { Origin: init.origin }),
        },
      }),
    async written() {
      const [row] = await db.sql`
        select (select count(*)::int from public.users) + (select count(*)::int from public.organizations)
          + (select count(*)::int from public.organization_memberships)
          + (select count(*)::int from clerk_sync.deliveries) as rows`;
      return row!.rows;
    },
    asked: (id) => clerk.requests.filter(({ path }) => path.includes(id)).length,
  });
}

const T = Date.now() - 60_000;

Deno.test("POST /sync answers 401 to a missing, malformed, expired, foreign or wrong-origin token, writes nothing and asks Clerk nothing", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    rig.clerk.put({ id, email: `${id}@example.com`, updatedAt: T });
    const foreign = await startClerkSessions();
    const cases: [string, string | null][] = [
      ["no token", null],
      ["not a JWT", "not-a-token"],
      ["expired", await rig.sessions.token(id, { azp: APP, expiresIn: -60 })],
      ["signed by another instance", await foreign.token(id, { azp: APP })],
      ["from another origin", await rig.sessions.token(id, { azp: "https://evil.example" })],
      ["from no origin", await rig.sessions.token(id)],
    ];
    await foreign[Symbol.asyncDispose]();
    for (const [name, token] of cases) {
      const response = await rig.sync(token);
      assert.equal(response.status, 401, name);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/, name);
      assert.ok((await response.json()).error, name);
    }
    assert.equal(await rig.written(), 0);
    assert.equal(rig.asked(id), 0);
  });
});

Deno.test("POST /sync fetches a user the sync lacks from Clerk, with their organizations, answers 200 applied with the row (no private metadata), and orders later webhooks by Clerk's updated_at", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    const state = {
      id,
      email: `${id}@example.com`,
      firstName: "Ada",
      privateMetadata: { secret: "plan-b" },
      updatedAt: T,
    };
    rig.clerk.put(state);
    rig.clerk.putOrganization({ id: "org_sync", slug: "sync", updatedAt: T });
    rig.clerk.putMembership({
      id: "orgmem_sync",
      organizationId: "org_sync",
      userId: id,
      role: "org:admin",
      updatedAt: T,
    });
    const token = await rig.sessions.token(id, { azp: APP });

    const response = await rig.sync(token);
    assert.equal(response.status, 200);
    const answer = await response.json();
    assert.equal(answer.outcome, "applied");
    assert.equal(answer.user.clerk_id, id);
    assert.equal(answer.user.first_name, "Ada");
    assert.doesNotMatch(JSON.stringify(answer), /plan-b|private_metadata/);
    const [membership] = await rig.db.sql`
      select organization_id, role from public.organization_memberships where user_id = ${id}`;
    assert.deepEqual({ ...membership }, { organization_id: "org_sync", role: "org:admin" });
    // The organization comes with its membership, as Clerk's membership carries it.
    const orgs = await rig.db.sql`select 1 from public.organizations where clerk_id = 'org_sync'`;
    assert.equal(orgs.length, 1);

    // The webhook of the same sign-up arrives late: older state is stale, newer applies.
    const older = await deliver(
      rig.fn.url,
      userEvent("user.created", { ...state, firstName: "A", updatedAt: T - 1000 }),
      {
        secret: rig.secret,
      },
    );
    assert.deepEqual(older.body, { outcome: "stale" });
    const newer = await deliver(
      rig.fn.url,
      userEvent("user.updated", { ...state, firstName: "Augusta", updatedAt: T + 1000 }),
      {
        secret: rig.secret,
      },
    );
    assert.deepEqual(newer.body, { outcome: "applied" });

    // Now the sync has the row: answered at once, Clerk not asked again.
    const before = rig.asked(id);
    const again = await rig.sync(token);
    assert.equal(again.status, 200);
    const present = await again.json();
    assert.equal(present.outcome, "present");
    assert.equal(present.user.first_name, "Augusta");
    assert.equal(rig.asked(id), before);
  });
});

Deno.test("POST /sync answers 200 present from the row the sync has, without asking Clerk, at /sync and at /clerk-webhook/sync", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    const sent = await deliver(
      rig.fn.url,
      userEvent("user.created", { id, email: null, firstName: "Grace", updatedAt: T }),
      {
        secret: rig.secret,
      },
    );
    assert.equal(sent.status, 200);
    const token = await rig.sessions.token(id, { azp: APP });
    for (const path of ["/sync", "/clerk-webhook/sync"]) {
      const response = await rig.sync(token, { path });
      assert.equal(response.status, 200, path);
      const answer = await response.json();
      assert.equal(answer.outcome, "present", path);
      assert.equal(answer.user.first_name, "Grace", path);
    }
    assert.equal(rig.asked(id), 0);
  });
});

Deno.test("POST /sync answers 410 to a user Clerk deleted, from the tombstone, without asking Clerk, and the user stays deleted", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    // Clerk still has the user (a stale cache, say): /sync must not bring them back.
    rig.clerk.put({ id, email: null, updatedAt: T });
    await deliver(rig.fn.url, deletedEvent(id, T + 1000), { secret: rig.secret });
    const response = await rig.sync(await rig.sessions.token(id, { azp: APP }));
    assert.equal(response.status, 410);
    assert.match((await response.json()).error, /was deleted in Clerk/);
    assert.equal(rig.asked(id), 0);
    const rows = await rig.db.sql`select 1 from public.users where clerk_id = ${id}`;
    assert.equal(rows.length, 0);
  });
});

Deno.test("POST /sync answers 404 when Clerk has no such user, and writes nothing", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    const response = await rig.sync(await rig.sessions.token(id, { azp: APP }));
    assert.equal(response.status, 404);
    assert.match((await response.json()).error, new RegExp(`Clerk has no user ${id}`));
    assert.equal(await rig.written(), 0);
  });
});

Deno.test("POST /sync answers 429 with Clerk's Retry-After when Clerk throttles, 503 with Retry-After when Clerk is down, and writes nothing", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    rig.clerk.put({ id, email: null, updatedAt: T });
    const token = await rig.sessions.token(id, { azp: APP });
    const throttled = await rig.sync(token);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "7");
    await throttled.body?.cancel();
    const down = await rig.sync(token);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get("retry-after"), "5");
    await down.body?.cancel();
    assert.equal(await rig.written(), 0);
    // Clerk is back: the same call applies.
    assert.equal((await rig.sync(token)).status, 200);
  }, { faults: { 1: { status: 429, retryAfter: 7 }, 2: { status: 502 } } });
});

Deno.test("POST /sync answers 503 with Retry-After when the database is down", async () => {
  await using sessions = await startClerkSessions();
  await using fn = await startFunction({
    CLERK_WEBHOOK_SECRET: newSecret(),
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
    CLERK_SECRET_KEY: SECRET_KEY,
    CLERK_API_URL: "http://127.0.0.1:1",
    CLERK_JWKS_URL: sessions.jwksUrl,
  });
  const response = await fetch(new URL("/sync", fn.url), {
    method: "POST",
    headers: { Authorization: `Bearer ${await sessions.token(newClerkId())}` },
  });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "5");
  await response.body?.cancel();
});

Deno.test("POST /sync asks Clerk once for concurrent calls of one user, and skips memberships where organizations are off", async () => {
  await withRig(async (rig) => {
    const id = newClerkId();
    rig.clerk.put({ id, email: `${id}@example.com`, updatedAt: T });
    const token = await rig.sessions.token(id, { azp: APP });
    const answers = await Promise.all(Array.from({ length: 8 }, () => rig.sync(token)));
    assert.deepEqual(answers.map((answer) => answer.status), Array(8).fill(200));
    const outcomes = await Promise.all(
      answers.map(async (answer) => (await answer.json()).outcome),
    );
    assert.ok(outcomes.includes("applied"), JSON.stringify(outcomes));
    const userReads = rig.clerk.requests.filter(({ path }) => path === `/v1/users/${id}`);
    assert.equal(userReads.length, 1);
    const [row] = await rig.db.sql`select count(*)::int as users from public.users`;
    assert.equal(row!.users, 1);
  }, { organizations: false });
});

Deno.test("POST /sync answers a browser's preflight and request with CORS headers for an authorized origin, and none for another", async () => {
  await withRig(async (rig) => {
    const preflight = (origin: string) =>
      fetch(new URL("/sync", rig.fn.url), {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type",
        },
      });
    const allowed = await preflight(APP);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), APP);
    assert.equal(
      allowed.headers.get("access-control-allow-headers"),
      "authorization, x-client-info, apikey, content-type",
    );
    assert.match(allowed.headers.get("access-control-allow-methods") ?? "", /POST/);
    const other = await preflight("https://evil.example");
    assert.equal(other.status, 403);
    assert.equal(other.headers.get("access-control-allow-origin"), null);

    const id = newClerkId();
    const fromApp = await rig.sync(await rig.sessions.token(id, { azp: APP }), { origin: APP });
    assert.equal(fromApp.headers.get("access-control-allow-origin"), APP);
    await fromApp.body?.cancel();
    const fromElsewhere = await rig.sync(null, { origin: "https://evil.example" });
    assert.equal(fromElsewhere.status, 401);
    assert.equal(fromElsewhere.headers.get("access-control-allow-origin"), null);
    await fromElsewhere.body?.cancel();
  });
});

Deno.test("POST /sync without its settings answers 500 naming none of them to the caller and logs which is missing; the webhook works as ever", async () => {
  await withRig(async (rig) => {
    const response = await rig.sync("x");
    assert.equal(response.status, 500);
    assert.match((await response.json()).error, /misconfigured; see its logs/);
    await rig.fn.waitForOutput(
      /CLERK_PUBLISHABLE_KEY: missing: POST \/sync verifies Clerk session tokens/,
    );
    const id = newClerkId();
    const sent = await deliver(
      rig.fn.url,
      userEvent("user.created", { id, email: null, updatedAt: T }),
      {
        secret: rig.secret,
      },
    );
    assert.deepEqual(sent.body, { outcome: "applied" });
  }, { env: { CLERK_JWKS_URL: "" } });
});
