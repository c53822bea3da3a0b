/**
 * Security: who may do what with the sync's tables and functions, and whether the
 * function's logs keep personal data out (`supabase db lint` is `npm run lint:db`).
 *
 * Each role is tried two ways on a scratch copy of the migrated database: through the
 * Data API's role switching (the real PostgREST behind the API gateway stand-in: the
 * publishable key is `anon`, a Clerk session token, an HS256 JWT with
 * `{ sub: "user_…", role: "authenticated" }`, is `authenticated`, the secret key is
 * `service_role`), and with `set local role` on a direct connection. Every statement
 * goes through a probe: a `security invoker` function created in the scratch copy for
 * this test, which runs one statement as the caller, the way a Data API write would.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { deletedEvent, newClerkId, userEvent } from "../dev/clerk_events.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { type FaultProxy, startFaultProxy } from "./support/fault_proxy.ts";
import type { FunctionProcess } from "../dev/function_process.ts";
import { POSTGREST_MISSING, startDataApi } from "../dev/data_api.ts";
import { signJwt } from "../dev/jwt.ts";
import { onTransport, startFunctionOn, testOn, TRANSPORTS } from "./support/transports.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";

const JWT_SECRET = "security-test-jwt-secret-with-at-least-32-characters";
const SECRET_KEY = "sb_secret_securityTestKey0000000000";
const PUBLISHABLE_KEY = "sb_publishable_securityTestKey000000";
const AUTH = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

/** A test through the Data API: ignored, never passed, where npm has no PostgREST build. */
const test = testOn("supabase");

// Module-wide fixtures: the runner drops the database; PostgREST stops when the module ends.
const db = await scratchDatabase();
await db.sql`
  create function public.security_probe(statement text) returns void
  language plpgsql security invoker as $$ begin execute statement; end $$`;
const api = POSTGREST_MISSING === undefined
  ? await startDataApi({
    databaseUrl: db.url,
    jwtSecret: JWT_SECRET,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
  })
  : undefined;
const apiUrl = api?.url ?? "http://127.0.0.1:1";
const service = createClient(apiUrl, SECRET_KEY, { auth: AUTH });

const alice = newClerkId();
const bob = newClerkId();
const carol = newClerkId();

/** The claims of a Clerk session token for `sub`, with Supabase's role claim. */
function clerkClaims(sub: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    azp: "http://localhost:3000",
    exp: now + 60,
    iat: now,
    iss: "https://clerk.example.accounts.dev",
    nbf: now - 5,
    role: "authenticated",
    sid: `sess_${crypto.randomUUID().replaceAll("-", "")}`,
    sub,
    v: 2,
  };
}

const ROLES = ["anon", "authenticated", "service_role"] as const;
type Role = typeof ROLES[number];

/** A Data API client acting as `role`; `authenticated` is signed in through Clerk as alice. */
function client(role: Role): SupabaseClient {
  if (role === "service_role") return service;
  return createClient(apiUrl, PUBLISHABLE_KEY, {
    auth: AUTH,
    ...(role === "authenticated"
      ? { accessToken: () => signJwt(clerkClaims(alice), JWT_SECRET) }
      : {}),
  });
}

/**
 * Applies an event as service_role through the Data API, as the function does (where
 * PostgREST cannot run, the same call as service_role on a direct connection).
 */
async function applyAsService(args: Record<string, string>): Promise<unknown> {
  if (api === undefined) {
    const names = Object.keys(args).map((name, i) => `${name} => $${i + 1}`);
    const [row] = await db.sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return await tx.unsafe(
        `select public.apply_clerk_user_event(${names.join(", ")}) as outcome`,
        Object.values(args),
      );
    });
    return row?.outcome;
  }
  const { data, error } = await service.rpc("apply_clerk_user_event", args);
  assert.equal(error, null);
  return data;
}

const now = new Date();
const created = (svixId: string, clerkId: string) => ({
  p_svix_id: svixId,
  p_event_type: "user.created",
  p_event_at: now.toISOString(),
  p_clerk_id: clerkId,
  p_email: `${clerkId}@example.com`,
  p_first_name: "Ada",
  p_clerk_created_at: now.toISOString(),
  p_clerk_updated_at: now.toISOString(),
});
for (const id of [alice, bob, carol]) {
  assert.equal(await applyAsService(created(newSvixId(), id)), "applied");
}
assert.equal(
  await applyAsService({
    p_svix_id: newSvixId(),
    p_event_type: "user.deleted",
    p_event_at: now.toISOString(),
    p_clerk_id: carol,
  }),
  "applied",
);

/** Everything the sync keeps, to show that an attempt changed none of it. */
async function snapshot(): Promise<unknown> {
  const [row] = await db.sql`
    select (select json_agg(u order by clerk_id) from public.users u) as users,
           (select json_agg(d order by svix_id) from clerk_sync.deliveries d) as deliveries,
           (select json_agg(t order by clerk_id) from clerk_sync.tombstones t) as tombstones,
           (select json_agg(p order by clerk_id) from public.users_private p) as private,
           (select json_agg(m order by entity) from clerk_sync.delete_modes m) as modes`;
  return row;
}

const READ_PRIVATE = "read public.users_private";
const READ_OWN_PRIVATE = "read one's own private metadata";
/** Statements only the apply function (or the owner) may run, and service_role's read of private metadata. */
const STATEMENTS: Record<string, string> = {
  "read clerk_sync.deliveries": "select count(*) from clerk_sync.deliveries",
  "insert into clerk_sync.deliveries":
    "insert into clerk_sync.deliveries (svix_id, event_type, event_at) values ('msg_forged', 'user.created', now())",
  "update clerk_sync.deliveries": "update clerk_sync.deliveries set outcome = 'stale'",
  "delete from clerk_sync.deliveries": "delete from clerk_sync.deliveries",
  "read clerk_sync.tombstones": "select count(*) from clerk_sync.tombstones",
  "insert into clerk_sync.tombstones":
    `insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id) values ('user', '${bob}', now(), 'msg_forged')`,
  "update clerk_sync.tombstones": "update clerk_sync.tombstones set deleted_at = now()",
  "delete from clerk_sync.tombstones": "delete from clerk_sync.tombstones",
  "insert into public.users":
    "insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id) values ('user_forged', now(), now(), now(), 'msg_forged')",
  "update another user's row": `update public.users set email = null where clerk_id = '${bob}'`,
  "update one's own row": `update public.users set first_name = 'Eve' where clerk_id = '${alice}'`,
  "delete from public.users": "delete from public.users",
  "truncate public.users": "truncate public.users",
  "run clerk_sync.prune_deliveries()": "select clerk_sync.prune_deliveries(interval '0 seconds')",
  "run clerk_sync.apply_user()":
    `select clerk_sync.apply_user('msg_forged', 'user.deleted', now(), '${bob}', null)`,
  "read clerk_sync.delete_modes": "select count(*) from clerk_sync.delete_modes",
  "choose soft deletes": "update clerk_sync.delete_modes set mode = 'soft'",
  [READ_PRIVATE]: "select count(*) from public.users_private",
  [READ_OWN_PRIVATE]:
    `select private_metadata from public.users_private where clerk_id = '${alice}'`,
  "insert into public.users_private":
    `insert into public.users_private (clerk_id, private_metadata) values ('${bob}', '{}')`,
  "update public.users_private": "update public.users_private set private_metadata = '{}'",
  "delete from public.users_private": "delete from public.users_private",
};
/** Delete bob through the writers: only service_role may. */
const WRITERS: Record<string, string> = {
  "run public.apply_clerk_user_event()": `select public.apply_clerk_user_event(
    p_svix_id => 'msg_forged', p_event_type => 'user.deleted', p_event_at => now(),
    p_clerk_id => '${bob}')`,
  "run public.apply_clerk_event()": `select public.apply_clerk_event('msg_forged',
    'user.deleted', now(), '${bob}', null)`,
};

/**
 * What `role` may do of `names`: none of STATEMENTS but reading private metadata, and
 * the writers, which only service_role may run.
 */
function expected(role: Role, names: string[]): Record<string, "allowed" | "denied"> {
  const serviceMay = (name: string) =>
    name in WRITERS || name === READ_PRIVATE || name === READ_OWN_PRIVATE;
  return Object.fromEntries(
    names.map((name) => [name, role === "service_role" && serviceMay(name) ? "allowed" : "denied"]),
  );
}

/** 42501 is PostgreSQL's "insufficient privilege"; anything else is not a denial. */
function verdict(code: string | undefined, context: string): "allowed" | "denied" {
  if (code === undefined) return "allowed";
  assert.equal(code, "42501", `${context} failed for another reason than privileges`);
  return "denied";
}

/** Runs `statement` as `role` on a direct connection, then rolls back; returns the SQLSTATE. */
async function asRole(role: Role, statement: string): Promise<string | undefined> {
  try {
    await db.sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${role}`);
      await tx`select set_config('request.jwt.claims', ${
        JSON.stringify(role === "authenticated" ? clerkClaims(alice) : { role })
      }, true)`;
      await tx.unsafe(statement);
      throw new RollbackSignal();
    });
  } catch (error) {
    if (error instanceof RollbackSignal) return undefined;
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Ends a transaction by rollback once the statement succeeded. */
class RollbackSignal extends Error {}

for (const role of ROLES) {
  test(`the Data API (PostgREST) lets ${role} do none of what only the writer may`, async () => {
    // service_role's apply would commit here; it is tried on a direct connection below.
    const statements = role === "service_role" ? STATEMENTS : { ...STATEMENTS, ...WRITERS };
    const before = await snapshot();
    const actual: Record<string, string> = {};
    for (const [name, statement] of Object.entries(statements)) {
      const { error, status } = await client(role).rpc("security_probe", { statement });
      actual[name] = verdict(error?.code, `${role}: ${name}`);
      if (error !== null) assert.equal(status, role === "anon" ? 401 : 403, `${role}: ${name}`);
    }
    assert.deepEqual(actual, expected(role, Object.keys(statements)));
    assert.deepEqual(await snapshot(), before, "nothing changed");
  });

  Deno.test(
    `set role ${role} on a direct connection can do none of what only the writer may${
      role === "service_role" ? ", but apply" : ""
    }`,
    async () => {
      const statements = { ...STATEMENTS, ...WRITERS };
      const before = await snapshot();
      const actual: Record<string, string> = {};
      for (const [name, statement] of Object.entries(statements)) {
        actual[name] = verdict(await asRole(role, statement), `${role}: ${name}`);
      }
      assert.deepEqual(actual, expected(role, Object.keys(statements)));
      assert.deepEqual(await snapshot(), before, "nothing changed (each attempt is rolled back)");
    },
  );
}

test("the Data API lets service_role apply events and read every row, and no one else", async () => {
  const clerkId = newClerkId();
  assert.equal(await applyAsService(created(newSvixId(), clerkId)), "applied");
  const { data } = await service.from("users").select("clerk_id").eq("clerk_id", clerkId);
  assert.deepEqual(data, [{ clerk_id: clerkId }]);
  const everyone = await service.from("users").select("clerk_id");
  assert.ok(
    [alice, bob, clerkId].every((id) => everyone.data?.some((row) => row.clerk_id === id)),
  );
  for (const role of ["anon", "authenticated"] as const) {
    const { error } = await client(role).rpc("apply_clerk_user_event", created(newSvixId(), bob));
    assert.equal(error?.code, "42501", role);
  }
});

test("the Data API shows a Clerk-signed-in user exactly their own row, and anon nothing", async () => {
  const own = await client("authenticated").from("users").select("clerk_id, email");
  assert.deepEqual(own.data, [{ clerk_id: alice, email: `${alice}@example.com` }]);
  const other = await client("authenticated").from("users").select("clerk_id").eq("clerk_id", bob);
  assert.deepEqual(other.data, []);
  const anon = await client("anon").from("users").select("clerk_id");
  assert.deepEqual([anon.status, anon.error?.code, anon.data], [401, "42501", null]);
});

test("private metadata: service_role reads it through the Data API; authenticated, even for its own row, and anon cannot", async () => {
  const { data, error } = await service.rpc("apply_clerk_event", {
    p_svix_id: newSvixId(),
    p_event_type: "user.updated",
    p_event_at: new Date(now.getTime() + 1).toISOString(),
    p_object_id: alice,
    p_state: {
      email: `${alice}@example.com`,
      private_metadata: { stripe_customer: "cus_alice" },
      clerk_created_at: now.toISOString(),
      clerk_updated_at: new Date(now.getTime() + 1).toISOString(),
    },
  });
  assert.deepEqual([data, error], ["applied", null]);
  const read = await service.from("users_private").select("clerk_id, private_metadata")
    .eq("clerk_id", alice);
  assert.deepEqual(read.data, [{
    clerk_id: alice,
    private_metadata: { stripe_customer: "cus_alice" },
  }]);
  for (const role of ["authenticated", "anon"] as const) {
    const denied = await client(role).from("users_private").select("private_metadata");
    assert.deepEqual(
      [denied.error?.code, denied.data],
      ["42501", null],
      `${role} reads no private metadata`,
    );
  }
  // The signed-in user's select * on public.users still works and holds no private column.
  const own = await client("authenticated").from("users").select("*");
  assert.equal(own.error, null);
  assert.deepEqual(own.data?.map((row) => row.clerk_id), [alice]);
  assert.ok(!Object.keys(own.data?.[0] ?? {}).some((column) => column.includes("private")));
});

Deno.test("set role authenticated with Clerk claims reads exactly its own row, and anon nothing", async () => {
  const read = (role: Role, claims: Record<string, unknown>) =>
    db.sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${role}`);
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return [...await tx`select clerk_id from public.users order by clerk_id`];
    });
  assert.deepEqual(await read("authenticated", clerkClaims(alice)), [{ clerk_id: alice }]);
  assert.deepEqual(await read("authenticated", clerkClaims(bob)), [{ clerk_id: bob }]);
  assert.deepEqual(await read("authenticated", clerkClaims(carol)), [], "a deleted user");
  assert.deepEqual(await read("authenticated", { role: "authenticated" }), [], "no sub");
  await assert.rejects(read("anon", { role: "anon" }), { code: "42501" });
});

/**
 * One run's worth of deliveries to `fn`, good and bad, carrying names and addresses;
 * returns the names sent and the number of requests made.
 */
async function fullRun(
  fn: FunctionProcess,
  target: ScratchDatabase,
  proxy: FaultProxy,
  secret: string,
): Promise<{ names: string[]; requests: number; lastId: string }> {
  const tag = crypto.randomUUID().slice(0, 6);
  const names = [0, 1, 2].flatMap((i) => [`Ottilie${tag}${i}`, `Wrexham${tag}${i}`]);
  const ids = [newClerkId(), newClerkId(), newClerkId()];
  const start = Date.now() - 60_000;
  const state = (i: number, step: number, email: string) => ({
    id: ids[i]!,
    email,
    firstName: names[2 * i]!,
    lastName: names[2 * i + 1]!,
    createdAt: start,
    updatedAt: start + step * 1000,
  });
  let requests = 0;
  const send = (payload: unknown, options: { id?: string; secret?: string } = {}) => {
    requests++;
    return deliver(fn.url, payload, { secret, ...options });
  };
  for (let i = 0; i < 3; i++) {
    await send(userEvent("user.created", state(i, 0, `first.${i}.${tag}@example.com`)));
  }
  // Two users swap addresses; a retry, a stale event and a deletion.
  const swap = newSvixId();
  await send(userEvent("user.updated", state(0, 2, `first.1.${tag}@example.com`)), { id: swap });
  await send(userEvent("user.updated", state(0, 2, `first.1.${tag}@example.com`)), { id: swap });
  await send(userEvent("user.updated", state(1, 2, `first.0.${tag}@example.com`)));
  await send(userEvent("user.updated", state(1, 1, `stale.${tag}@example.com`)));
  await send(deletedEvent(ids[2]!, start + 3000));
  // Refused: a wrong secret, and a signed payload that is not Clerk's.
  await send(userEvent("user.created", state(2, 4, `forged.${tag}@example.com`)), {
    secret: newSecret(),
  });
  await send({
    type: "user.created",
    timestamp: Date.now(),
    data: { id: ids[0], first_name: { name: names[0] }, email_addresses: `x.${tag}@example.com` },
  });
  // A database that does not answer in time: 503, with the driver's error in the log.
  await target.sql.begin(async (tx) => {
    await tx`lock table public.users in access exclusive mode`;
    await send(userEvent("user.updated", state(0, 5, `locked.${tag}@example.com`)));
  });
  // A connection lost mid-statement: 503, with the driver's error in the log.
  proxy.blackHole();
  const lastId = newSvixId();
  const lost = send(userEvent("user.updated", state(0, 6, `lost.${tag}@example.com`)), {
    id: lastId,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  proxy.cut();
  await lost;
  proxy.restore();
  return { names, requests, lastId };
}

for (const transport of TRANSPORTS) {
  Deno.test({
    name: `the function's whole output over a run on ${transport} has no email address and no name`,
    ...onTransport(transport),
    async fn() {
      await using target = await scratchDatabase();
      const address = new URL(target.url);
      // The direct transport's DATABASE_URL carries a user name (postgres@…): no error
      // message may print it either.
      await using proxy = startFaultProxy({
        hostname: address.hostname,
        port: Number(address.port),
      });
      const secret = newSecret();
      await using fn = await startFunctionOn(transport, proxy.via(target.url), secret);
      const { names, requests, lastId } = await fullRun(fn, target, proxy, secret);

      const output = await fn.waitForOutput(new RegExp(lastId));
      const logged = output.split("\n").filter((line) => line.startsWith("{"));
      assert.equal(logged.length, requests, `${transport}: one line per request:\n${output}`);
      const statuses = new Set(logged.map((line) => JSON.parse(line).status));
      assert.deepEqual([...statuses].sort(), [200, 400, 422, 503], transport);
      assert.doesNotMatch(output, /@/, `${transport}: an address in the output:\n${output}`);
      for (const name of names) {
        assert.ok(!output.includes(name), `${transport}: ${name} in the output:\n${output}`);
      }
    },
  });
}
