/**
 * What the project relies on from a Supabase project's Data API, shown on the real
 * PostgREST (dev/postgrest.ts) behind the API gateway stand-in: the secret key applies
 * events, the publishable key and users' sessions are refused the writers and see only
 * what row-level security allows, the gateway refuses bad keys, and the statuses the
 * Supabase transport tells apart (supabase_store.ts) are the ones PostgREST answers.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { startDataApi } from "../dev/data_api.ts";
import { signJwt } from "../dev/jwt.ts";
import { startFaultProxy } from "./support/fault_proxy.ts";
import { testOn } from "./support/transports.ts";

const JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters";
const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
const AUTH = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };
/** Ignored, never passed, where npm has no PostgREST build. */
const test = testOn("supabase");

interface Api {
  db: ScratchDatabase;
  url: string;
}

/**
 * Runs `fn` against the Data API of a fresh clone of the migrated database, on which
 * `setup` runs first (before PostgREST loads its schema cache).
 */
async function withApi(
  fn: (api: Api) => Promise<void>,
  setup: (sql: ScratchDatabase["sql"]) => Promise<unknown> = () => Promise.resolve(),
): Promise<void> {
  await using db = await scratchDatabase();
  await setup(db.sql);
  await using api = await startDataApi({
    databaseUrl: db.url,
    jwtSecret: JWT_SECRET,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
  });
  await fn({ db, url: api.url });
}

function serviceClient(url: string): SupabaseClient {
  return createClient(url, SECRET_KEY, { auth: AUTH });
}

function anonClient(url: string): SupabaseClient {
  return createClient(url, PUBLISHABLE_KEY, { auth: AUTH });
}

/** A client signed in through Clerk: its session token, shaped as Clerk's, carries the user id. */
function clerkClient(url: string, clerkId: string): SupabaseClient {
  const now = Math.floor(Date.now() / 1000);
  return createClient(url, PUBLISHABLE_KEY, {
    auth: AUTH,
    accessToken: () =>
      signJwt({
        azp: "http://localhost:3000",
        exp: now + 60,
        iat: now,
        iss: "https://clerk.example.accounts.dev",
        nbf: now - 5,
        role: "authenticated",
        sid: "sess_2abc",
        sub: clerkId,
        v: 2,
      }, JWT_SECRET),
  });
}

/** The arguments of a user.created delivery, as the Supabase transport sent them one by one. */
function created(svixId: string, clerkId: string, email: string | null = null) {
  return {
    p_svix_id: svixId,
    p_event_type: "user.created",
    p_event_at: "2024-05-01T10:00:00.000Z",
    p_clerk_id: clerkId,
    p_email: email,
    p_first_name: "Ada",
    p_last_name: null,
    p_image_url: "https://img.clerk.com/ada.png",
    p_clerk_created_at: "2024-05-01T09:59:59.000Z",
    p_clerk_updated_at: "2024-05-01T09:59:59.000Z",
  };
}

/** A batch of one user.created, as the Supabase transport sends it. */
function batch(svixId: string, clerkId: string, deadline: Date | null = null) {
  return {
    p_events: [{
      svix_id: svixId,
      type: "user.created",
      event_at: "2024-05-01T10:00:00.000Z",
      object_id: clerkId,
      state: {
        email: null,
        clerk_created_at: "2024-05-01T09:59:59.000Z",
        clerk_updated_at: "2024-05-01T09:59:59.000Z",
      },
    }],
    p_deadline: deadline?.toISOString() ?? null,
  };
}

async function writes(db: ScratchDatabase): Promise<{ deliveries: number; users: number }> {
  const [row] = await db.sql`
    select (select count(*) from clerk_sync.deliveries)::int as deliveries,
           (select count(*) from public.users)::int as users`;
  return { deliveries: row!.deliveries, users: row!.users };
}

test("the Data API applies a batch as service_role, then answers duplicate to its redelivery", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const first = await client.rpc("apply_clerk_events", batch("msg_1", "user_1"));
    assert.deepEqual([first.error, first.status, first.data], [null, 200, ["applied"]]);
    const again = await client.rpc("apply_clerk_events", batch("msg_1", "user_1"));
    assert.deepEqual([again.error, again.status, again.data], [null, 200, ["duplicate"]]);
    const one = await client.rpc(
      "apply_clerk_user_event",
      created("msg_2", "user_2", "ada@example.com"),
    );
    assert.deepEqual([one.error, one.status, one.data], [null, 200, "applied"]);

    const rows = await db.sql`
      select clerk_id, email, first_name, clerk_created_at, svix_id
      from public.users order by clerk_id`;
    assert.deepEqual(rows.map((row) => ({ ...row })), [{
      clerk_id: "user_1",
      email: null,
      first_name: null,
      clerk_created_at: new Date("2024-05-01T09:59:59.000Z"),
      svix_id: "msg_1",
    }, {
      clerk_id: "user_2",
      email: "ada@example.com",
      first_name: "Ada",
      clerk_created_at: new Date("2024-05-01T09:59:59.000Z"),
      svix_id: "msg_2",
    }]);
  });
});

test("the Data API refuses the writers and the private tables to anon (401) and a Clerk session (403) with 42501, and writes nothing", async () => {
  await withApi(async ({ db, url }) => {
    const refused = [
      { who: "anon", client: anonClient(url), status: 401 },
      { who: "a Clerk session", client: clerkClient(url, "user_1"), status: 403 },
    ];
    for (const { who, client, status } of refused) {
      const calls = {
        apply_clerk_events: await client.rpc("apply_clerk_events", batch("msg_1", "user_1")),
        apply_clerk_user_event: await client.rpc(
          "apply_clerk_user_event",
          created("msg_1", "user_1"),
        ),
        record_clerk_refusal: await client.rpc("record_clerk_refusal", {
          p_svix_id: "msg_1",
          p_event_type: "user.created",
          p_status: 422,
          p_reason: "forged",
        }),
        users_private: await client.from("users_private").select("*"),
        "insert into users": await client.from("users").insert({ clerk_id: "user_1" }),
      };
      for (const [name, { data, error, status: answered }] of Object.entries(calls)) {
        assert.deepEqual(
          [answered, error?.code, data],
          [status, "42501", null],
          `${who}: ${name}`,
        );
      }
      assert.match(
        calls.apply_clerk_events.error?.message ?? "",
        /permission denied for function/,
      );
    }
    // The sync's own schema is not exposed at all.
    const ledger = await serviceClient(url).from("deliveries").select("*");
    assert.deepEqual([ledger.status, ledger.error?.code], [404, "42P01"]);
    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
    const [refusals] = await db.sql`select count(*)::int as n from clerk_sync.refusals`;
    assert.equal(refusals?.n, 0);
  });
});

test("the Data API lets a Clerk session read only its own row, and anon none", async () => {
  await withApi(async ({ url }) => {
    const service = serviceClient(url);
    for (const i of [1, 2]) {
      const { data } = await service.rpc(
        "apply_clerk_user_event",
        created(`msg_${i}`, `user_${i}`),
      );
      assert.equal(data, "applied");
    }

    const own = await clerkClient(url, "user_1").from("users").select("clerk_id, email");
    assert.deepEqual([own.error, own.data], [null, [{ clerk_id: "user_1", email: null }]]);
    const other = await clerkClient(url, "user_1").from("users").select("*").eq(
      "clerk_id",
      "user_2",
    );
    assert.deepEqual([other.error, other.data], [null, []]);

    const anon = await anonClient(url).from("users").select("*");
    assert.deepEqual([anon.status, anon.error?.code], [401, "42501"]);

    const all = await service.from("users").select("clerk_id").order("clerk_id");
    assert.deepEqual(all.data, [{ clerk_id: "user_1" }, { clerk_id: "user_2" }]);
  });
});

test("the Data API runs each call as the key's or the session's role, with its claims", async () => {
  await withApi(async ({ url }) => {
    const whoami = async (client: SupabaseClient) => (await client.rpc("whoami")).data;
    assert.deepEqual(await whoami(serviceClient(url)), { role: "service_role", sub: null });
    assert.deepEqual(await whoami(anonClient(url)), { role: "anon", sub: null });
    assert.deepEqual(await whoami(clerkClient(url, "user_2abc")), {
      role: "authenticated",
      sub: "user_2abc",
    });
  }, (sql) =>
    sql`
    create function public.whoami() returns jsonb language sql
    as $$ select jsonb_build_object('role', current_user, 'sub', auth.jwt() ->> 'sub') $$`);
});

test("the API gateway refuses a missing or unknown key with 401, and PostgREST a forged or expired token", async () => {
  await withApi(async ({ db, url }) => {
    const call = (key: string) =>
      createClient(url, key, { auth: AUTH }).rpc("apply_clerk_events", batch("msg_1", "user_1"));
    const wrongKey = await call("sb_secret_wrong");
    assert.deepEqual([wrongKey.status, wrongKey.error?.message], [401, "Invalid API key"]);

    const noKey = await fetch(`${url}/rest/v1/rpc/apply_clerk_events`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(batch("msg_1", "user_1")),
    });
    assert.deepEqual(
      [noKey.status, (await noKey.json()).message],
      [401, "No API key found in request"],
    );
    // The secret key as the bearer of a request made with the publishable key acts as anon.
    const mixed = await fetch(`${url}/rest/v1/rpc/apply_clerk_events`, {
      method: "POST",
      headers: {
        apikey: PUBLISHABLE_KEY,
        Authorization: `Bearer ${SECRET_KEY}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(batch("msg_1", "user_1")),
    });
    assert.deepEqual([mixed.status, (await mixed.json()).code], [401, "42501"]);

    const claims = { role: "service_role", exp: Math.floor(Date.now() / 1000) + 60 };
    const forged = await call(await signJwt(claims, "not-the-jwt-secret-not-the-jwt-secret"));
    assert.deepEqual([forged.status, forged.error?.code], [401, "PGRST301"]);
    const expiredClaims = { role: "service_role", exp: Math.floor(Date.now() / 1000) - 3600 };
    const expired = await call(await signJwt(expiredClaims, JWT_SECRET));
    // PostgREST 12.0 says PGRST301; 12.1 and later (Supabase runs 14) say PGRST303.
    assert.deepEqual([expired.status, expired.error?.message], [401, "JWT expired"]);
    assert.match(expired.error?.code ?? "", /^PGRST30[13]$/);

    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
    // A legacy service_role key (a JWT signed with the project's secret) still works.
    const legacy = await call(await signJwt(claims, JWT_SECRET));
    assert.deepEqual([legacy.status, legacy.data], [200, ["applied"]]);
  });
});

test("the Data API answers the failures the Supabase transport tells apart with PostgREST's statuses", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    // The batch's deadline passed: refused with 57014, which PostgREST answers 500.
    const late = await client.rpc(
      "apply_clerk_events",
      batch("msg_1", "user_1", new Date(Date.now() - 1000)),
    );
    assert.deepEqual([late.status, late.error?.code], [500, "57014"]);
    assert.match(late.error?.message ?? "", /after its deadline/);
    const broken = await client.rpc("apply_clerk_events", { p_events: {}, p_deadline: null });
    assert.deepEqual([broken.status, broken.error?.code], [400, "22023"]);

    const expected = {
      "23505": 409,
      "40P01": 500,
      "53300": 503,
      "55P03": 500,
      "P0001": 400,
      "PT418": 418,
    };
    for (const [code, status] of Object.entries(expected)) {
      const failed = await client.rpc("fail", { p_code: code });
      assert.deepEqual(
        [failed.status, failed.error?.code, failed.error?.message, failed.error?.hint],
        [status, code, `failed with ${code}`, "a hint"],
      );
    }
    const retried = await client.rpc("serialization_failure");
    assert.deepEqual([retried.status, retried.data], [200, 3]);

    // record_clerk_refusal returns void: 204, no data, no error.
    const refusal = await client.rpc("record_clerk_refusal", {
      p_svix_id: "msg_2",
      p_event_type: "user.created",
      p_status: 422,
      p_reason: "not a Clerk event",
    });
    assert.deepEqual([refusal.status, refusal.data, refusal.error], [204, null, null]);
    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
  }, async (sql) => {
    await sql`
      create function public.fail(p_code text) returns int language plpgsql as $$
      begin raise exception 'failed with %', p_code using errcode = p_code, hint = 'a hint'; end $$`;
    // Fails with 40001 twice, then answers: PostgREST retries serialization failures.
    await sql`create sequence public.attempts`;
    await sql`grant usage on sequence public.attempts to service_role`;
    await sql`
      create function public.serialization_failure() returns bigint language plpgsql as $$
      declare attempt bigint := nextval('public.attempts');
      begin
        if attempt < 3 then raise exception 'conflict' using errcode = '40001'; end if;
        return attempt;
      end $$`;
  });
});

test("the Data API answers 404 PGRST202 when the function or an argument is not in the migrated schema", async () => {
  await withApi(async ({ url }) => {
    const client = serviceClient(url);
    const unknown = await client.rpc("apply_clerk_eventz", batch("msg_1", "user_1"));
    assert.deepEqual([unknown.status, unknown.error?.code], [404, "PGRST202"]);
    assert.match(
      unknown.error?.hint ?? "",
      /Perhaps you meant to call the function public\.apply_clerk_event/,
    );
    const extra = await client.rpc("apply_clerk_events", {
      ...batch("msg_1", "user_1"),
      p_more: 1,
    });
    assert.deepEqual([extra.status, extra.error?.code], [404, "PGRST202"]);
    // Arguments with defaults may be left out.
    const { p_deadline: _, ...noDeadline } = batch("msg_1", "user_1");
    const applied = await client.rpc("apply_clerk_events", noDeadline);
    assert.deepEqual([applied.error, applied.data], [null, ["applied"]]);
  });
});

test("the Data API serves concurrent calls with a pool of 4, one redelivery applying once", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const distinct = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => client.rpc("apply_clerk_events", batch(`msg_${i}`, `user_${i}`)),
      ),
    );
    assert.deepEqual(distinct.map(({ data }) => data), Array(20).fill(["applied"]));
    const redeliveries = await Promise.all(
      Array.from(
        { length: 10 },
        () => client.rpc("apply_clerk_events", batch("msg_x", "user_x")),
      ),
    );
    assert.deepEqual(redeliveries.map(({ data }) => data?.[0]).sort(), [
      "applied",
      ...Array(9).fill("duplicate"),
    ]);
    assert.deepEqual(await writes(db), { deliveries: 21, users: 21 });
  });
});

/**
 * Whether an answer says the database could not be reached: a 503 (PGRST000: no new
 * connection; PGRST001: a pooled one broken; 57P01: its backend terminated), or the 400
 * with an empty error that PostgREST answers when a pooled connection turns out dead as
 * the request uses it (PostgREST/postgrest#4681, open in 14.x). The Supabase transport
 * takes both as "unavailable" (store.ts: a 503, or no SQLSTATE) and answers 503, so Svix
 * retries.
 */
function unreachable(answer: { status: number; error: { code?: string } | null }): boolean {
  return answer.status === 503 || (answer.status === 400 && answer.error?.code === "");
}

test("the Data API answers 503 PGRST000 while the database is unreachable, and applies again once it is back", async () => {
  await using db = await scratchDatabase();
  const address = new URL(db.url);
  await using proxy = startFaultProxy({ hostname: address.hostname, port: Number(address.port) });
  await using api = await startDataApi({ databaseUrl: proxy.via(db.url), secretKey: SECRET_KEY });
  const client = serviceClient(api.url);
  const before = await client.rpc("apply_clerk_events", batch("msg_1", "user_1"));
  assert.deepEqual(before.data, ["applied"]);

  proxy.cut();
  // The pool's connections fail first (each once), then new ones are refused.
  const during = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    during.push(await client.rpc("apply_clerk_events", batch("msg_2", "user_2")));
  }
  for (const answer of during) assert.ok(unreachable(answer), JSON.stringify(answer));
  const last = during.at(-1)!;
  assert.deepEqual([last.status, last.error?.code, last.data], [503, "PGRST000", null]);
  assert.match(last.error?.message ?? "", /Database connection error/);

  proxy.restore();
  // PostgREST connects again on the next request; its LISTEN connection comes back with backoff.
  const after = await client.rpc("apply_clerk_events", batch("msg_2", "user_2"));
  assert.deepEqual([after.error, after.data], [null, ["applied"]]);
  assert.deepEqual(await writes(db), { deliveries: 2, users: 2 });
});

test("the Data API answers that the database is unavailable, then applies, when its connections are killed", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const first = await client.rpc("apply_clerk_events", batch("msg_1", "user_1"));
    assert.deepEqual(first.data, ["applied"]);
    await db.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where usename = 'authenticator' and datname = ${db.name}`;
    // Each dead connection of the pool (4) fails one request; Svix would redeliver.
    const failed = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const answer = await client.rpc("apply_clerk_events", batch("msg_2", "user_2"));
      if (answer.error === null) {
        assert.deepEqual(answer.data, ["applied"]);
        break;
      }
      assert.ok(unreachable(answer), JSON.stringify(answer));
      failed.push(answer);
    }
    assert.ok(failed.length <= 4, `${failed.length} failures`);
    assert.deepEqual(await writes(db), { deliveries: 2, users: 2 });
  });
});
