/**
 * The user row apps build on, through the real handler over HTTP into a real database,
 * on both transports: the fields apps use, Clerk's published examples, private metadata
 * kept apart, and deletes that an app's foreign keys cannot turn into a retry loop.
 */
import assert from "node:assert/strict";
import { deletedEvent, newClerkId, userEvent, type UserState } from "../dev/clerk_events.ts";
import type { ScratchDatabase } from "../dev/database.ts";
import { testOn, TRANSPORTS, withHandler } from "./support/transports.ts";

const EXAMPLES = new URL("../fixtures/clerk/openapi-examples/", import.meta.url);
const T = Date.now() - 60 * 60 * 1000;

async function readUser(db: ScratchDatabase, id: string) {
  const [row] = await db.sql`
    select u.email, u.email_verified, u.username, u.phone_number, u.first_name, u.external_id,
      u.public_metadata, u.unsafe_metadata, u.banned, u.deleted_at is not null as deleted,
      p.private_metadata
    from public.users u left join public.users_private p using (clerk_id)
    where u.clerk_id = ${id}`;
  return row;
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`the user row holds username, primary phone, verification, metadata and ban state, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const id = newClerkId();
      const state: UserState = {
        id,
        email: `${id}@example.com`,
        username: "ada",
        phone: "+15550000002",
        otherPhones: ["+15550000001"],
        publicMetadata: { role: "admin" },
        privateMetadata: { stripe: "cus_1" },
        unsafeMetadata: { theme: "dark" },
        updatedAt: T,
      };
      assert.equal(await send(userEvent("user.created", state)), "applied");
      assert.deepEqual(await readUser(db, id), {
        email: `${id}@example.com`,
        email_verified: true,
        username: "ada",
        phone_number: "+15550000002",
        first_name: null,
        external_id: "567772",
        public_metadata: { role: "admin" },
        unsafe_metadata: { theme: "dark" },
        banned: false,
        deleted: false,
        private_metadata: { stripe: "cus_1" },
      });

      const changed = {
        ...state,
        username: null,
        phone: "+15550000001",
        otherPhones: [],
        publicMetadata: {},
        privateMetadata: { stripe: "cus_2" },
        banned: true,
        updatedAt: T + 1_000,
      };
      assert.equal(await send(userEvent("user.updated", changed)), "applied");
      assert.deepEqual(await readUser(db, id), {
        email: `${id}@example.com`,
        email_verified: true,
        username: null,
        phone_number: "+15550000001",
        first_name: null,
        external_id: "567772",
        public_metadata: {},
        unsafe_metadata: { theme: "dark" },
        banned: true,
        deleted: false,
        private_metadata: { stripe: "cus_2" },
      });
    });
  });

  test(`Clerk's published user.created, user.updated and user.deleted apply in turn over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const example = async (type: string) =>
        await Deno.readTextFile(new URL(`${type}.json`, EXAMPLES));
      assert.equal(await send(await example("user.created")), "applied");
      assert.equal(await send(await example("user.updated")), "applied");
      const id = "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
      assert.deepEqual(
        { ...await readUser(db, id) },
        {
          // user.updated names a primary address that is not in its (empty) list.
          email: null,
          email_verified: false,
          username: "johndoe",
          phone_number: null,
          first_name: "John",
          external_id: null,
          public_metadata: { department: "engineering" },
          unsafe_metadata: {},
          banned: false,
          deleted: false,
          private_metadata: {},
        },
      );
      assert.equal(await send(await example("user.deleted")), "applied");
      assert.equal(await readUser(db, id), undefined);
    });
  });

  test(`a user.deleted whose row an app's foreign key holds answers 200 and erases the row, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      await db.sql`create table public.posts (author uuid not null references public.users (id))`;
      const id = newClerkId();
      const email = `${id}@example.com`;
      const state = { id, email, firstName: "Ada", username: "ada", updatedAt: T };
      assert.equal(
        await send(userEvent("user.created", { ...state, privateMetadata: { a: 1 } })),
        "applied",
      );
      await db.sql`insert into public.posts select id from public.users where clerk_id = ${id}`;

      assert.equal(await send(deletedEvent(id, T + 1_000)), "applied");
      assert.deepEqual(await readUser(db, id), {
        email: null,
        email_verified: false,
        username: null,
        phone_number: null,
        first_name: null,
        external_id: null,
        public_metadata: {},
        unsafe_metadata: {},
        banned: false,
        deleted: true,
        private_metadata: null,
      });
      const [posts] = await db.sql`select count(*)::int as count from public.posts`;
      assert.equal(posts?.count, 1, "the app's row keeps its reference");
      assert.equal(
        await send(userEvent("user.updated", { ...state, updatedAt: T + 2_000 })),
        "stale",
        "no later event brings the person back",
      );
      const next = newClerkId();
      assert.equal(
        await send(userEvent("user.created", { id: next, email, updatedAt: T + 3_000 })),
        "applied",
      );
      assert.equal((await readUser(db, next))?.email, email, "the freed email is taken");
    });
  });

  test(`a user.deleted removes the row and the app's on delete cascade rows, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      await db.sql`
        create table public.notes (author uuid references public.users (id) on delete cascade)`;
      const id = newClerkId();
      assert.equal(
        await send(userEvent("user.created", { id, email: null, updatedAt: T })),
        "applied",
      );
      await db.sql`insert into public.notes select id from public.users where clerk_id = ${id}`;
      assert.equal(await send(deletedEvent(id, T + 1_000)), "applied");
      const [counts] = await db.sql`
        select (select count(*)::int from public.users) as users,
               (select count(*)::int from public.notes) as notes,
               (select count(*)::int from public.users_private) as private`;
      assert.deepEqual({ ...counts }, { users: 0, notes: 0, private: 0 });
    });
  });

  test(`soft deletes, chosen in clerk_sync.delete_modes, keep every deleted user's row erased, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      await db.sql`update clerk_sync.delete_modes set mode = 'soft' where entity = 'user'`;
      const id = newClerkId();
      assert.equal(
        await send(userEvent("user.created", { id, email: `${id}@example.com`, updatedAt: T })),
        "applied",
      );
      assert.equal(await send(deletedEvent(id, T + 1_000)), "applied");
      const row = await readUser(db, id);
      assert.deepEqual([row?.deleted, row?.email], [true, null]);
    });
  });
}
