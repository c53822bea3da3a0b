/**
 * An app's Clerk session in Supabase, for real: the real PostgREST 12.0.2, configured as
 * Supabase's third-party auth for Clerk configures it (the Clerk instance's JWKS beside
 * the project's JWT secret, the `role` claim), behind the API gateway stand-in; Clerk
 * session tokens (RS256, v2 claims) from a stand-in Clerk instance; supabase-js through
 * the app's own client (examples/supabase_client.ts). The data is seeded by signed Clerk
 * events through the function's handler, so the co-members' columns are the sync's own.
 *
 * Also: the README's "Use it from your app" shows exactly the example files.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { parse as parseToml } from "smol-toml";
import { membershipEvent, organizationEvent, userEvent } from "../dev/clerk_events.ts";
import { POSTGREST_MISSING, startDataApi } from "../dev/data_api.ts";
import { scratchDatabase } from "../dev/database.ts";
import { startFunction } from "../dev/function_process.ts";
import { startClerkApiStandIn } from "../dev/stand_ins/clerk_api.ts";
import { startClerkSessions } from "../dev/stand_ins/clerk_sessions.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";
import { ensureUser } from "../examples/ensure_user.ts";
import { createSupabaseClient } from "../examples/supabase_client.ts";
import { directStore, serveHandler, testOn } from "./support/transports.ts";

const SECRET_KEY = "sb_secret_appSessionTestKey000000000";
const PUBLISHABLE_KEY = "sb_publishable_appSessionTestKey00000";
/** Ignored, never passed, where npm has no PostgREST build. */
const test = testOn("supabase");

const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
const [alice, bob, carol] = ["alice", "bob", "carol"].map((name) => `user_${name}_${suffix}`) as [
  string,
  string,
  string,
];
/** Alice and Bob share org_a; Alice and Carol share org_c; Carol alone is in org_b. */
const [orgA, orgB, orgC] = ["a", "b", "c"].map((name) => `org_${name}_${suffix}`) as [
  string,
  string,
  string,
];
const MEMBERS: [string, string, string][] = [
  [orgA, alice, "org:admin"],
  [orgA, bob, "org:member"],
  [orgB, carol, "org:admin"],
  [orgC, alice, "org:member"],
  [orgC, carol, "org:admin"],
];
const membershipId = (org: string, user: string) => `orgmem_${org}_${user}`;
const NAMES: Record<string, [string, string]> = {
  [alice]: ["Alice", "Liddell"],
  [bob]: ["Bob", "Dylan"],
  [carol]: ["Carol", "Danvers"],
};

// Module-wide fixtures: the runner drops the database; the servers stop when the module ends.
const db = await scratchDatabase();
// Which role a request runs as, created before PostgREST loads its schema cache.
await db.sql`create function public.current_role_for_test() returns text
  language sql stable as 'select current_user'`;
await db.sql`grant execute on function public.current_role_for_test() to anon, authenticated`;
const clerk = await startClerkSessions();
const api = POSTGREST_MISSING === undefined
  ? await startDataApi({
    databaseUrl: db.url,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
    thirdPartyJwks: clerk.jwks(),
  })
  : undefined;
const apiUrl = api?.url ?? "http://127.0.0.1:1";

await seed();

/** Clerk's events for the users, organizations and memberships, signed and sent to the handler. */
async function seed(): Promise<void> {
  const store = directStore(db.url);
  const secret = newSecret();
  await using server = serveHandler(store, secret);
  const at = Date.now() - 60_000;
  const events = [
    ...Object.entries(NAMES).map(([id, [firstName, lastName]]) =>
      userEvent("user.created", {
        id,
        email: `${firstName.toLowerCase()}@example.com`,
        firstName,
        lastName,
        imageUrl: `https://img.clerk.com/${firstName.toLowerCase()}`,
        privateMetadata: { stripe: `cus_${firstName}` },
        updatedAt: at,
      })
    ),
    ...[orgA, orgB, orgC].map((id) =>
      organizationEvent("organization.created", { id, updatedAt: at })
    ),
    ...MEMBERS.map(([organizationId, userId, role]) =>
      membershipEvent("organizationMembership.created", {
        id: membershipId(organizationId, userId),
        organizationId,
        userId,
        role,
        updatedAt: at,
      })
    ),
  ];
  try {
    for (const event of events) {
      const { status, body } = await deliver(server.url, event, { secret });
      assert.deepEqual([status, body.outcome], [200, "applied"], JSON.stringify(event));
    }
  } finally {
    await store.close();
  }
}

/** The app's client (examples/supabase_client.ts) with `getToken` as Clerk's. */
function appClient(getToken: () => Promise<string | null>): SupabaseClient {
  return createSupabaseClient(apiUrl, PUBLISHABLE_KEY, getToken);
}

/** The app's client signed in as `sub`, its active organization `o`. */
function signedIn(sub: string, o?: { id: string; rol: string }): SupabaseClient {
  return appClient(() =>
    clerk.token(sub, o === undefined ? {} : { o: { ...o, slg: o.id.toLowerCase() } })
  );
}

/** The rows `client` reads of `table`, or its status and error code. */
async function read(
  client: SupabaseClient,
  table: string,
  columns = "*",
): Promise<Record<string, unknown>[] | string> {
  const { data, error, status } = await client.from(table).select(columns);
  return error === null ? data as unknown as Record<string, unknown>[] : `${status} ${error.code}`;
}

const ids = (rows: Record<string, unknown>[] | string, column = "clerk_id") =>
  typeof rows === "string" ? rows : rows.map((row) => row[column]).sort();

test("a Clerk session reads its own user row and no other's", async () => {
  const role = await signedIn(alice).rpc("current_role_for_test");
  assert.deepEqual([role.error, role.data], [null, "authenticated"]);
  const own = await read(signedIn(alice), "users");
  assert.deepEqual(ids(own), [alice]);
  const [row] = own as Record<string, unknown>[];
  assert.deepEqual(
    [row?.email, row?.first_name, row?.last_name],
    ["alice@example.com", "Alice", "Liddell"],
  );
  const bobsRow = await signedIn(alice).from("users").select("*").eq("clerk_id", bob);
  assert.deepEqual([bobsRow.error, bobsRow.data], [null, []]);
  assert.deepEqual(ids(await read(signedIn(bob), "users")), [bob]);
});

test("a Clerk session reads the organizations it is a member of, active or not, and no other", async () => {
  assert.deepEqual(
    ids(await read(signedIn(alice, { id: orgA, rol: "admin" }), "organizations")),
    [orgA, orgC],
  );
  // Without an active organization (no `o` claim) the memberships decide as well.
  assert.deepEqual(ids(await read(signedIn(alice), "organizations")), [orgA, orgC]);
  assert.deepEqual(ids(await read(signedIn(bob), "organizations")), [orgA]);
  const other = await signedIn(bob).from("organizations").select("*").eq("clerk_id", orgC);
  assert.deepEqual([other.error, other.data], [null, []]);
});

test("a Clerk session reads the memberships of its organizations with its co-members' public data, and none of another organization", async () => {
  const columns = "organization_id, user_id, role, user_first_name, user_last_name, " +
    "user_image_url, user_identifier";
  const rows = await read(signedIn(alice, { id: orgA, rol: "admin" }), "organization_memberships");
  assert.deepEqual(
    ids(rows),
    [alice, alice, bob, carol].map((user, index) =>
      membershipId([orgA, orgC, orgA, orgC][index]!, user)
    ).sort(),
  );
  const seen = await signedIn(alice).from("organization_memberships").select(columns)
    .order("organization_id").order("user_id");
  assert.equal(seen.error, null);
  assert.deepEqual(
    seen.data,
    [
      [orgA, alice, "org:admin"],
      [orgA, bob, "org:member"],
      [orgC, alice, "org:member"],
      [orgC, carol, "org:admin"],
    ].map(([organization_id, user_id, role]) => {
      const [first, last] = NAMES[user_id!]!;
      return {
        organization_id,
        user_id,
        role,
        user_first_name: first,
        user_last_name: last,
        user_image_url: `https://img.clerk.com/${first.toLowerCase()}`,
        user_identifier: `${first.toLowerCase()}@example.com`,
      };
    }),
  );
  // Carol's membership of org_b, which Alice is not in, is not there; nor is it to Bob.
  const elsewhere = await signedIn(alice).from("organization_memberships").select("*")
    .eq("organization_id", orgB);
  assert.deepEqual([elsewhere.error, elsewhere.data], [null, []]);
  assert.deepEqual(
    ids(await read(signedIn(bob), "organization_memberships", "user_id"), "user_id"),
    [
      alice,
      bob,
    ],
  );
});

test("co-members read each other's membership columns and nothing more: no user row, no private metadata", async () => {
  const client = signedIn(alice, { id: orgA, rol: "admin" });
  const bobsRow = await client.from("users").select("email").eq("clerk_id", bob);
  assert.deepEqual([bobsRow.error, bobsRow.data], [null, []]);
  for (
    const table of ["users_private", "organizations_private", "organization_memberships_private"]
  ) {
    assert.equal(await read(client, table), "403 42501", table);
  }
  // Nothing outside the exposed schema: not the ledger, not the helpers.
  const ledger = await client.schema("clerk_sync").from("deliveries").select("*");
  assert.deepEqual([ledger.status, ledger.error?.code, ledger.data], [406, "PGRST106", null]);
});

test("a Clerk session writes nothing: not its own row, not a membership to join an organization", async () => {
  const client = signedIn(alice, { id: orgA, rol: "admin" });
  const update = await client.from("users").update({ first_name: "Eve" }).eq("clerk_id", alice);
  assert.deepEqual([update.status, update.error?.code], [403, "42501"]);
  const join = await client.from("organization_memberships").insert({
    clerk_id: "orgmem_forged",
    organization_id: orgB,
    user_id: alice,
    role: "org:admin",
    clerk_created_at: new Date().toISOString(),
    clerk_updated_at: new Date().toISOString(),
    clerk_event_at: new Date().toISOString(),
    svix_id: "msg_forged",
  });
  assert.deepEqual([join.status, join.error?.code], [403, "42501"]);
  assert.deepEqual(ids(await read(client, "organizations")), [orgA, orgC]);
  const [row] = await db.sql`select first_name from public.users where clerk_id = ${alice}`;
  assert.equal(row?.first_name, "Alice");
});

test("anon (the publishable key, no session) reads nothing", async () => {
  const anon = createClient(apiUrl, PUBLISHABLE_KEY, { auth: { persistSession: false } });
  const signedOut = appClient(() => Promise.resolve(null));
  for (const client of [anon, signedOut]) {
    for (const table of ["users", "organizations", "organization_memberships"]) {
      assert.equal(await read(client, table), "401 42501", table);
    }
  }
});

test("PostgREST refuses a Clerk-shaped token signed by another key, and an expired one (401)", async () => {
  await using otherInstance = await startClerkSessions();
  const forged = await appClient(() => otherInstance.token(alice)).from("users").select("*");
  assert.deepEqual([forged.status, forged.error?.code, forged.error?.message, forged.data], [
    401,
    "PGRST301",
    "JWSError JWSInvalidSignature",
    null,
  ]);
  const expired = await appClient(() => clerk.token(alice, { expiresIn: -60 })).from("users")
    .select("*");
  // PostgREST 12.0 says PGRST301; 12.1 and later (Supabase runs 14) say PGRST303.
  assert.deepEqual([expired.status, expired.error?.message, expired.data], [
    401,
    "JWT expired",
    null,
  ]);
});

test("a Clerk token without the role claim acts as anon: it reads nothing", async () => {
  const noRole = appClient(() => clerk.token(alice, { claims: { role: undefined } }));
  // PostgREST accepts the token (its signature is good) and runs the request as its
  // anonymous role, db-anon-role.
  const role = await noRole.rpc("current_role_for_test");
  assert.deepEqual([role.error, role.data], [null, "anon"]);
  for (const table of ["users", "organizations", "organization_memberships"]) {
    assert.equal(await read(noRole, table), "401 42501", table);
  }
});

test("PostgREST takes the role claim as it is: a Clerk token saying service_role reads every row", async () => {
  // Why the claim must be the fixed value `authenticated` in Clerk's session token.
  const rows = await read(
    appClient(() => clerk.token(alice, { claims: { role: "service_role" } })),
    "users",
  );
  assert.deepEqual(ids(rows), [alice, bob, carol].sort());
});

test("the project's own keys still work beside Clerk's: the secret key reads every row", async () => {
  const service = createClient(apiUrl, SECRET_KEY, { auth: { persistSession: false } });
  assert.deepEqual(ids(await read(service, "users")), [alice, bob, carol].sort());
  assert.deepEqual(ids(await read(service, "users_private")), [alice, bob, carol].sort());
});

test("ensureUser() answers the signed-in user's row when the sync has it", async () => {
  const user = await ensureUser(signedIn(bob));
  assert.deepEqual([user.clerk_id, user.email, user.first_name], [
    bob,
    "bob@example.com",
    "Bob",
  ]);
});

test("ensureUser() right after sign-up, before Clerk's webhook: POST /sync through supabase.functions.invoke fetches the user from Clerk and answers the row, which the app then reads", async () => {
  const dave = `user_dave_${suffix}`;
  await using clerkApi = startClerkApiStandIn({ secretKey: "sk_test_ensure0user0key" });
  clerkApi.put({ id: dave, email: "dave@example.com", firstName: "Dave", updatedAt: Date.now() });
  await using fn = await startFunction({
    CLERK_WEBHOOK_SECRET: newSecret(),
    DATABASE_URL: db.url,
    CLERK_SECRET_KEY: "sk_test_ensure0user0key",
    CLERK_API_URL: clerkApi.url,
    CLERK_JWKS_URL: clerk.jwksUrl,
  });
  // The gateway routes /functions/v1/clerk-webhook/… to the function, as Supabase's does.
  await using gateway = await startDataApi({
    databaseUrl: db.url,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
    thirdPartyJwks: clerk.jwks(),
    functions: { "clerk-webhook": fn.url },
  });
  const supabase = createSupabaseClient(gateway.url, PUBLISHABLE_KEY, () => clerk.token(dave));
  const user = await ensureUser(supabase);
  assert.deepEqual([user.clerk_id, user.email, user.first_name], [
    dave,
    "dave@example.com",
    "Dave",
  ]);
  assert.ok(!("private_metadata" in user));
  // The row is there for the app's own queries now, through RLS as Dave.
  const { data } = await supabase.from("users").select("clerk_id").single();
  assert.equal(data?.clerk_id, dave);
});

// ------------------------------------------------------------------ the README

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const EXAMPLES = new URL("../examples/", import.meta.url);

/** The fenced blocks of the README's "Use it from your app", with their languages. */
function sectionBlocks(): { lang: string; code: string }[] {
  const start = README.indexOf("\n### Use it from your app\n");
  assert.ok(start >= 0, 'the README has a section "Use it from your app"');
  const end = README.slice(start + 1).search(/\n##+ /);
  const section = README.slice(start, end < 0 ? undefined : start + 1 + end);
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((match) => ({
    lang: match[1]!,
    code: match[2]!,
  }));
}

Deno.test('the README\'s TypeScript blocks in "Use it from your app" are exactly the example files, each once', async () => {
  const files: Record<string, string> = {};
  for await (const entry of Deno.readDir(EXAMPLES)) {
    if (entry.name.endsWith(".ts")) {
      files[entry.name] = await Deno.readTextFile(new URL(entry.name, EXAMPLES));
    }
  }
  const shown = sectionBlocks().filter(({ lang }) => lang === "ts").map(({ code }) => {
    const name = Object.keys(files).find((file) => files[file] === code);
    assert.ok(name, `a block that is no example file:\n${code}`);
    return name;
  });
  assert.deepEqual(shown.sort(), Object.keys(files).sort());
});

Deno.test("the README's Next.js lines call the tested factory with Clerk's token", () => {
  const glue = sectionBlocks().filter(({ lang }) => lang === "tsx").map(({ code }) => code);
  assert.equal(glue.length, 2, "a server component and a client component");
  for (const code of glue) {
    assert.match(code, /createSupabaseClient\(/);
    assert.match(code, /getToken\(\)/);
  }
  assert.match(glue[0]!, /await auth\(\)/);
  assert.match(glue[1]!, /useSession\(\)/);
});

Deno.test("the README's config.toml block turns on Clerk with a domain the Supabase CLI accepts", () => {
  const blocks = sectionBlocks().filter(({ lang }) => lang === "toml");
  assert.equal(blocks.length, 1);
  const config = parseToml(blocks[0]!.code) as {
    auth?: { third_party?: { clerk?: { enabled?: boolean; domain?: string } } };
  };
  const clerkAuth = config.auth?.third_party?.clerk;
  assert.equal(clerkAuth?.enabled, true);
  // The CLI's check of the domain (supabase/cli, pkg/config/config.go, clerkDomainPattern).
  assert.match(
    clerkAuth?.domain ?? "",
    /^(clerk([.][a-z0-9-]+){2,}|([a-z0-9-]+[.])+clerk[.]accounts[.]dev)$/,
  );
});
