import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { signJwt, startPostgrestStandIn } from "../dev/postgrest_stand_in.ts";

const JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters";
const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
const AUTH = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

interface Api {
  db: ScratchDatabase;
  url: string;
}

/** Runs `fn` against a stand-in serving a fresh clone of the migrated database. */
async function withApi(fn: (api: Api) => Promise<void>, databaseUrl?: string): Promise<void> {
  await using db = await scratchDatabase();
  await using standIn = await startPostgrestStandIn({
    databaseUrl: databaseUrl ?? db.url,
    jwtSecret: JWT_SECRET,
    secretKey: SECRET_KEY,
    publishableKey: PUBLISHABLE_KEY,
  });
  await fn({ db, url: standIn.url });
}

function serviceClient(url: string): SupabaseClient {
  return createClient(url, SECRET_KEY, { auth: AUTH });
}

function anonClient(url: string): SupabaseClient {
  return createClient(url, PUBLISHABLE_KEY, { auth: AUTH });
}

/** A client signed in through Clerk: its session token carries the Clerk user id. */
function clerkClient(url: string, clerkId: string): SupabaseClient {
  return createClient(url, PUBLISHABLE_KEY, {
    auth: AUTH,
    accessToken: () =>
      signJwt({
        sub: clerkId,
        role: "authenticated",
        exp: Math.floor(Date.now() / 1000) + 60,
      }, JWT_SECRET),
  });
}

/** The arguments of a user.created delivery, as the Supabase transport sends them. */
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

async function writes(db: ScratchDatabase): Promise<{ deliveries: number; users: number }> {
  const [row] = await db.sql`
    select (select count(*) from clerk_sync.deliveries)::int as deliveries,
           (select count(*) from public.users)::int as users`;
  return { deliveries: row!.deliveries, users: row!.users };
}

Deno.test("startPostgrestStandIn() applies an event as service_role, then answers duplicate", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const first = await client.rpc(
      "apply_clerk_user_event",
      created("msg_1", "user_1", "ada@example.com"),
    );
    assert.deepEqual([first.error, first.status, first.data], [null, 200, "applied"]);
    const again = await client.rpc(
      "apply_clerk_user_event",
      created("msg_1", "user_1", "ada@example.com"),
    );
    assert.deepEqual([again.error, again.status, again.data], [null, 200, "duplicate"]);

    const rows = await db.sql`
      select clerk_id, email, first_name, last_name, clerk_created_at, svix_id from public.users`;
    assert.deepEqual(rows.map((row) => ({ ...row })), [{
      clerk_id: "user_1",
      email: "ada@example.com",
      first_name: "Ada",
      last_name: null,
      clerk_created_at: new Date("2024-05-01T09:59:59.000Z"),
      svix_id: "msg_1",
    }]);
  });
});

Deno.test("startPostgrestStandIn() answers 401 with 42501 to anon and writes nothing", async () => {
  await withApi(async ({ db, url }) => {
    const { data, error, status } = await anonClient(url)
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.equal(status, 401);
    assert.equal(data, null);
    assert.equal(error?.code, "42501");
    assert.match(error?.message ?? "", /permission denied for function apply_clerk_user_event/);
    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
  });
});

Deno.test("startPostgrestStandIn() answers 403 with 42501 to a Clerk session and writes nothing", async () => {
  await withApi(async ({ db, url }) => {
    const { error, status } = await clerkClient(url, "user_1")
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.equal(status, 403);
    assert.equal(error?.code, "42501");
    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
  });
});

Deno.test("startPostgrestStandIn() answers 401 to a wrong key, no key, a forged or an expired token", async () => {
  await withApi(async ({ db, url }) => {
    const wrongKey = await createClient(url, "sb_secret_wrong", { auth: AUTH })
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.deepEqual([wrongKey.status, wrongKey.error?.code], [401, "PGRST301"]);

    const noKey = await fetch(`${url}/rest/v1/rpc/apply_clerk_user_event`, {
      method: "POST",
      body: JSON.stringify(created("msg_1", "user_1")),
    });
    assert.deepEqual([noKey.status, (await noKey.json()).code], [401, "PGRST302"]);

    const claims = { role: "service_role", exp: Math.floor(Date.now() / 1000) + 60 };
    const forged = await createClient(url, await signJwt(claims, "not-the-jwt-secret"), {
      auth: AUTH,
    })
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.deepEqual([forged.status, forged.error?.code], [401, "PGRST301"]);

    const expiredClaims = { role: "service_role", exp: Math.floor(Date.now() / 1000) - 3600 };
    const expired = await createClient(url, await signJwt(expiredClaims, JWT_SECRET), {
      auth: AUTH,
    })
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.deepEqual([expired.status, expired.error?.code], [401, "PGRST303"]);

    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });

    const legacy = await createClient(url, await signJwt(claims, JWT_SECRET), { auth: AUTH })
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.deepEqual([legacy.status, legacy.data], [200, "applied"]);
  });
});

Deno.test("startPostgrestStandIn() answers 404 PGRST202 to an unknown function or argument", async () => {
  await withApi(async ({ url }) => {
    const client = serviceClient(url);
    const unknown = await client.rpc("apply_clerk_user_events", created("msg_1", "user_1"));
    assert.deepEqual([unknown.status, unknown.error?.code], [404, "PGRST202"]);

    const extra = await client.rpc("apply_clerk_user_event", {
      ...created("msg_1", "user_1"),
      p_username: "ada",
    });
    assert.deepEqual([extra.status, extra.error?.code], [404, "PGRST202"]);

    const { p_svix_id: _, ...missing } = created("msg_1", "user_1");
    const incomplete = await client.rpc("apply_clerk_user_event", missing);
    assert.deepEqual([incomplete.status, incomplete.error?.code], [404, "PGRST202"]);
  });
});

Deno.test("startPostgrestStandIn() leaves out arguments that have defaults", async () => {
  await withApi(async ({ url }) => {
    const { data, error } = await serviceClient(url).rpc("apply_clerk_user_event", {
      p_svix_id: "msg_1",
      p_event_type: "session.created",
      p_event_at: "2024-05-01T10:00:00Z",
    });
    assert.deepEqual([error, data], [null, "ignored"]);
  });
});

Deno.test("startPostgrestStandIn() answers 400 PGRST102 to a body that is not a JSON object", async () => {
  await withApi(async ({ url }) => {
    for (const body of ["{", "[]", "null"]) {
      const response = await fetch(`${url}/rest/v1/rpc/apply_clerk_user_event`, {
        method: "POST",
        headers: { apikey: SECRET_KEY, "Content-Type": "application/json" },
        body,
      });
      assert.deepEqual([response.status, (await response.json()).code], [400, "PGRST102"], body);
    }
  });
});

Deno.test("startPostgrestStandIn() maps SQLSTATEs to PostgREST's statuses", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const noDates = await client.rpc("apply_clerk_user_event", {
      ...created("msg_1", "user_1"),
      p_clerk_updated_at: null,
    });
    assert.deepEqual([noDates.status, noDates.error?.code], [400, "22004"]);
    assert.match(
      noDates.error?.message ?? "",
      /needs clerk_created_at and clerk_updated_at in p_state/,
    );

    const badDate = await client.rpc("apply_clerk_user_event", {
      ...created("msg_1", "user_1"),
      p_event_at: "yesterday-ish",
    });
    assert.deepEqual([badDate.status, badDate.error?.code], [400, "22007"]);

    await db.sql`
      create function public.fail(p_code text) returns int language plpgsql as $$
      begin raise exception 'failed with %', p_code using errcode = p_code, hint = 'a hint'; end $$`;
    const expected = {
      "23505": 409,
      "40001": 500,
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
    assert.deepEqual(await writes(db), { deliveries: 0, users: 0 });
  });
});

Deno.test("startPostgrestStandIn() answers sets as arrays and void as 204", async () => {
  await withApi(async ({ db, url }) => {
    await db.sql`
      create function public.numbers(p_upto int) returns setof int language sql
      as $$ select generate_series(1, p_upto) $$`;
    await db.sql`create function public.nothing() returns void language sql as $$ select $$`;
    const client = serviceClient(url);
    const numbers = await client.rpc("numbers", { p_upto: 3 });
    assert.deepEqual([numbers.status, numbers.data], [200, [1, 2, 3]]);
    const nothing = await client.rpc("nothing");
    assert.deepEqual([nothing.status, nothing.data, nothing.error], [204, null, null]);
  });
});

Deno.test("startPostgrestStandIn() sets the role and claims for the call", async () => {
  await withApi(async ({ db, url }) => {
    await db.sql`
      create function public.whoami() returns jsonb language sql
      as $$ select jsonb_build_object('role', current_user, 'sub', auth.jwt() ->> 'sub') $$`;
    const service = await serviceClient(url).rpc("whoami");
    assert.deepEqual(service.data, { role: "service_role", sub: null });
    const anon = await anonClient(url).rpc("whoami");
    assert.deepEqual(anon.data, { role: "anon", sub: null });
    const clerk = await clerkClient(url, "user_2abc").rpc("whoami");
    assert.deepEqual(clerk.data, { role: "authenticated", sub: "user_2abc" });
  });
});

Deno.test("startPostgrestStandIn() serves concurrent calls, one of them applying a redelivery", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const distinct = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          client.rpc(
            "apply_clerk_user_event",
            created(`msg_${i}`, `user_${i}`, `u${i}@example.com`),
          ),
      ),
    );
    assert.deepEqual(distinct.map(({ data }) => data), Array(20).fill("applied"));

    const redeliveries = await Promise.all(
      Array.from(
        { length: 10 },
        () => client.rpc("apply_clerk_user_event", created("msg_x", "user_x")),
      ),
    );
    assert.deepEqual(redeliveries.map(({ data }) => data).sort(), [
      "applied",
      ...Array(9).fill("duplicate"),
    ]);
    assert.deepEqual(await writes(db), { deliveries: 21, users: 21 });
  });
});

Deno.test("startPostgrestStandIn() lets a Clerk session read only its own row", async () => {
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

    const all = await service.from("users").select("clerk_id");
    assert.deepEqual(all.data?.map((row) => row.clerk_id).sort(), ["user_1", "user_2"]);

    const ledger = await service.from("deliveries").select("*");
    assert.deepEqual([ledger.status, ledger.error?.code], [404, "42P01"]);
  });
});

Deno.test("startPostgrestStandIn() answers 503 PGRST000 when the database is unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await withApi(async ({ url }) => {
    const { data, error, status } = await serviceClient(url)
      .rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.deepEqual([status, error?.code, data], [503, "PGRST000", null]);
  }, `postgres://postgres@127.0.0.1:${port}/postgres`);
});

Deno.test("startPostgrestStandIn() answers 503 PGRST001 or recovers when its connections are killed", async () => {
  await withApi(async ({ db, url }) => {
    const client = serviceClient(url);
    const first = await client.rpc("apply_clerk_user_event", created("msg_1", "user_1"));
    assert.equal(first.data, "applied");
    await db.sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where usename = 'authenticator' and datname = ${db.name}`;
    // Whether the pool notices before reusing a dead connection is a race.
    const during = await client.rpc("apply_clerk_user_event", created("msg_2", "user_2"));
    if (during.error !== null) {
      assert.deepEqual([during.status, during.error.code], [503, "PGRST001"]);
    }
    const after = await client.rpc("apply_clerk_user_event", created("msg_3", "user_3"));
    assert.deepEqual([after.error, after.data], [null, "applied"]);
  });
});
