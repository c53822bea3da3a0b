/**
 * Upgrading a deployment of the first release as users do: a database migrated with
 * its migration only and holding its rows, then `supabase db push` of this project.
 * Nothing is lost, the function deployed before keeps applying until it is replaced,
 * and the new columns fill on the next event and on a backfill.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backfill, backfillKind } from "../cli/backfill/sync.ts";
import { openPostgresDatabase } from "../functions/clerk-webhook/postgres_database.ts";
import { USER } from "../functions/clerk-webhook/user.ts";
import { ClerkApi } from "../functions/clerk-webhook/clerk_api.ts";
import { userEvent } from "../dev/clerk_events.ts";
import { startClerkApiStandIn } from "../dev/stand_ins/clerk_api.ts";
import { createMigratedDatabase, dropDatabases, pushMigrations } from "../dev/database.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";
import { directStore, serveHandler } from "./support/transports.ts";

const ROOT = new URL("../", import.meta.url);
const FIRST_RELEASE = "20261127120000_clerk_user_sync.sql";
const SECRET_KEY = "sk_test_upgrade0stand0in0key";
const T = Date.now() - 60 * 60 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A Supabase project holding the first release's migration only. */
async function firstReleaseProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cws_first_release_" });
  await Deno.mkdir(`${dir}/supabase/migrations`, { recursive: true });
  await Deno.copyFile(new URL("supabase/config.toml", ROOT), `${dir}/supabase/config.toml`);
  await Deno.copyFile(
    new URL(`supabase/migrations/${FIRST_RELEASE}`, ROOT),
    `${dir}/supabase/migrations/${FIRST_RELEASE}`,
  );
  return dir;
}

/** The first release's function's call, as it is deployed: its entry point, named arguments. */
function firstReleaseCall(
  sql: postgres.Sql,
  svixId: string,
  type: string,
  clerkId: string,
  at: number,
  email: string | null = null,
) {
  const state = type === "user.deleted" ? {} : {
    p_email: email,
    p_first_name: "Ada",
    p_clerk_created_at: iso(T),
    p_clerk_updated_at: iso(at),
  };
  const args = {
    p_svix_id: svixId,
    p_event_type: type,
    p_event_at: iso(at),
    p_clerk_id: clerkId,
    ...state,
  };
  const list = Object.keys(args).map((name, index) => `${name} => $${index + 1}`).join(", ");
  return sql.unsafe(`select public.apply_clerk_user_event(${list}) as outcome`, Object.values(args))
    .then((rows) => rows[0]?.outcome);
}

Deno.test("supabase db push upgrades a first-release database: rows, ledger and tombstones kept, the deployed function still applies, new columns fill on the next event and on a backfill", async () => {
  const project = await firstReleaseProject();
  const name = `${Deno.env.get("CWS_RUN_PREFIX")}_upgrade`;
  const url = await createMigratedDatabase(name, project);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    assert.equal(
      await firstReleaseCall(sql, "msg_a1", "user.created", "user_a", T, "a@example.com"),
      "applied",
    );
    assert.equal(
      await firstReleaseCall(sql, "msg_b1", "user.created", "user_b", T, "b@example.com"),
      "applied",
    );
    assert.equal(await firstReleaseCall(sql, "msg_c1", "user.created", "user_c", T), "applied");
    assert.equal(
      await firstReleaseCall(sql, "msg_c2", "user.deleted", "user_c", T + 1_000),
      "applied",
    );
    const usersBefore = await sql`
      select id, clerk_id, email, first_name, clerk_updated_at, svix_id, created_at
      from public.users order by clerk_id`;
    const ledgerBefore = await sql`select * from clerk_sync.deliveries order by svix_id`;
    const [tombstoneBefore] = await sql`select * from clerk_sync.deleted_users`;

    const output = await pushMigrations(url);
    assert.match(output, /20261202090000_clerk_sync_core/);

    assert.deepEqual(
      [
        ...await sql`
        select id, clerk_id, email, first_name, clerk_updated_at, svix_id, created_at
        from public.users order by clerk_id`,
      ],
      [...usersBefore],
      "every row is kept, ids included",
    );
    assert.deepEqual(
      [...await sql`select sync_format, public_metadata from public.users order by clerk_id`],
      [{ sync_format: 1, public_metadata: {} }, { sync_format: 1, public_metadata: {} }],
    );
    assert.deepEqual(
      [...await sql`select * from clerk_sync.deliveries order by svix_id`],
      [...ledgerBefore],
      "the ledger is kept",
    );
    assert.deepEqual(
      [...await sql`select clerk_id, deleted_at, svix_id, recorded_at from clerk_sync.tombstones`],
      [tombstoneBefore],
      "the tombstone is kept",
    );

    // The function deployed before the push keeps working, with the same answers.
    assert.equal(
      await firstReleaseCall(sql, "msg_a1", "user.created", "user_a", T, "a@example.com"),
      "duplicate",
    );
    assert.equal(
      await firstReleaseCall(sql, "msg_c3", "user.updated", "user_c", T + 2_000),
      "stale",
    );
    assert.equal(
      await firstReleaseCall(sql, "msg_a2", "user.updated", "user_a", T + 1_000, "a2@example.com"),
      "applied",
    );
    const [a] = await sql`select email, sync_format from public.users where clerk_id = 'user_a'`;
    assert.deepEqual({ ...a }, { email: "a2@example.com", sync_format: 1 });

    // The new function's next event fills the new columns.
    const store = directStore(url);
    const secret = newSecret();
    try {
      await using server = serveHandler(store, secret);
      const event = userEvent("user.updated", {
        id: "user_b",
        email: "b@example.com",
        username: "bee",
        publicMetadata: { role: "admin" },
        createdAt: T,
        updatedAt: T + 1_000,
      });
      assert.deepEqual((await deliver(server.url, event, { secret })).body, { outcome: "applied" });
      const [b] = await sql`
        select username, public_metadata, sync_format from public.users where clerk_id = 'user_b'`;
      assert.deepEqual({ ...b }, {
        username: "bee",
        public_metadata: { role: "admin" },
        sync_format: 2,
      });

      // A backfill fills the rows no event has touched since, from the same Clerk state.
      await using clerk = startClerkApiStandIn({ secretKey: SECRET_KEY });
      clerk.put({
        id: "user_a",
        email: "a2@example.com",
        firstName: "Ada",
        username: "ada",
        publicMetadata: { plan: "pro" },
        createdAt: T,
        updatedAt: T + 1_000,
      });
      const summary = await backfill({
        kind: backfillKind(
          USER,
          new ClerkApi({ secretKey: SECRET_KEY, apiUrl: clerk.url }),
          openPostgresDatabase(url),
        ),
        store,
      });
      assert.equal(summary.applied, 1);
      const [filled] = await sql`
        select email, username, public_metadata, sync_format, svix_id
        from public.users where clerk_id = 'user_a'`;
      assert.deepEqual({ ...filled }, {
        email: "a2@example.com",
        username: "ada",
        public_metadata: { plan: "pro" },
        sync_format: 2,
        svix_id: "msg_a2",
      });
    } finally {
      await store.close();
    }
  } finally {
    await sql.end();
    await dropDatabases(name);
    await Deno.remove(project, { recursive: true });
  }
});
