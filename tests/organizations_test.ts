/**
 * Organizations and memberships through the real handler over HTTP into a real
 * database, on both transports: Clerk's published examples, any delivery order,
 * re-added members, deletions of organizations and users, slugs that move.
 */
import assert from "node:assert/strict";
import {
  deletedEvent,
  membershipEvent,
  type MembershipState,
  organizationDeletedEvent,
  organizationEvent,
  userEvent,
} from "../dev/clerk_events.ts";
import type { ScratchDatabase } from "../dev/database.ts";
import { testOn, TRANSPORTS, withHandler } from "./support/transports.ts";

const EXAMPLES = new URL("../fixtures/clerk/openapi-examples/", import.meta.url);
const T = Date.now() - 60 * 60 * 1000;

const id = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

async function memberships(db: ScratchDatabase, organizationId: string) {
  return [
    ...await db.sql`
      select clerk_id, user_id, role from public.organization_memberships
      where organization_id = ${organizationId} order by user_id, clerk_id`,
  ];
}

/** Every order of `items`. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [
      item,
      ...rest,
    ])
  );
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`Clerk's published organization and membership examples apply in turn over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const example = (type: string) => Deno.readTextFile(new URL(`${type}.json`, EXAMPLES));
      for (
        const type of [
          "organization.created",
          "organization.updated",
          "organizationMembership.created",
          "organizationMembership.updated",
        ]
      ) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      const [org] = await db.sql`
        select name, slug, max_allowed_memberships, created_by from public.organizations`;
      assert.ok(org);
      const [member] = await db.sql`
        select organization_id, user_id, role, role_name, permissions
        from public.organization_memberships`;
      assert.deepEqual({ ...member }, {
        organization_id: "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        user_id: "user_2h8op3Isl1QR7tKu5FGNfaLKEoU",
        role: "org:admin",
        role_name: "Admin",
        permissions: [
          "org:posts:read",
          "org:posts:write",
          "org:posts:delete",
          "org:members:manage",
        ],
      });
      for (const type of ["organizationMembership.deleted", "organization.deleted"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      const [counts] = await db.sql`
        select (select count(*)::int from public.organizations) as organizations,
               (select count(*)::int from public.organization_memberships) as memberships`;
      assert.deepEqual({ ...counts }, { organizations: 0, memberships: 0 });
    });
  });

  test(`a membership that arrives before its organization and its user is kept, and joins once they arrive, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const [orgId, userId] = [id("org"), id("user")];
      const membership = { id: id("orgmem"), organizationId: orgId, userId, updatedAt: T };
      assert.equal(
        await send(membershipEvent("organizationMembership.created", membership)),
        "applied",
      );
      assert.equal(
        await send(organizationEvent("organization.created", { id: orgId, updatedAt: T })),
        "applied",
      );
      assert.equal(
        await send(userEvent("user.created", { id: userId, email: null, updatedAt: T })),
        "applied",
      );
      const joined = await db.sql`
        select o.clerk_id as org, u.clerk_id as user
        from public.organization_memberships m
        join public.organizations o on o.clerk_id = m.organization_id
        join public.users u on u.clerk_id = m.user_id`;
      assert.deepEqual([...joined], [{ org: orgId, user: userId }]);
    });
  });

  test(`a member removed and re-added ends as the re-added membership, once, in every delivery order, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const [n, order] of permutations([0, 1, 2]).entries()) {
        const [orgId, userId] = [id("org"), id("user")];
        const first: MembershipState = {
          id: id("orgmem"),
          organizationId: orgId,
          userId,
          updatedAt: T,
        };
        const second: MembershipState = {
          id: id("orgmem"),
          organizationId: orgId,
          userId,
          role: "org:admin",
          updatedAt: T + 2_000,
        };
        const events = [
          membershipEvent("organizationMembership.created", first),
          membershipEvent("organizationMembership.deleted", first, T + 1_000),
          membershipEvent("organizationMembership.created", second),
        ];
        for (const index of order) {
          const answer = await send(events[index]);
          assert.ok(["applied", "stale"].includes(answer as string), String(answer));
        }
        assert.deepEqual(
          await memberships(db, orgId),
          [{ clerk_id: second.id, user_id: userId, role: "org:admin" }],
          `order ${order.join(", ")} (${n})`,
        );
      }
    });
  });

  test(`organization.deleted removes the organization and its memberships; their late events are stale, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const orgId = id("org");
      const member = { id: id("orgmem"), organizationId: orgId, userId: id("user"), updatedAt: T };
      assert.equal(
        await send(organizationEvent("organization.created", { id: orgId, updatedAt: T })),
        "applied",
      );
      assert.equal(
        await send(membershipEvent("organizationMembership.created", member)),
        "applied",
      );
      assert.equal(await send(organizationDeletedEvent(orgId, T + 5_000)), "applied");
      assert.equal(
        await send(organizationEvent("organization.updated", { id: orgId, updatedAt: T + 6_000 })),
        "stale",
      );
      assert.equal(
        await send(
          membershipEvent("organizationMembership.updated", { ...member, updatedAt: T + 6_000 }),
        ),
        "stale",
      );
      const late = {
        id: id("orgmem"),
        organizationId: orgId,
        userId: id("user"),
        updatedAt: T + 1_000,
      };
      assert.equal(await send(membershipEvent("organizationMembership.created", late)), "stale");
      const [counts] = await db.sql`
        select (select count(*)::int from public.organizations where clerk_id = ${orgId}) as organizations,
               (select count(*)::int from public.organization_memberships where organization_id = ${orgId}) as memberships`;
      assert.deepEqual({ ...counts }, { organizations: 0, memberships: 0 });
    });
  });

  test(`user.deleted removes the user's memberships, with or without their own deletes, in either order, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const membershipDeleteFirst of [false, true]) {
        const [orgId, userId] = [id("org"), id("user")];
        const member = { id: id("orgmem"), organizationId: orgId, userId, updatedAt: T };
        assert.equal(
          await send(userEvent("user.created", { id: userId, email: null, updatedAt: T })),
          "applied",
        );
        assert.equal(
          await send(membershipEvent("organizationMembership.created", member)),
          "applied",
        );
        const removal = membershipEvent("organizationMembership.deleted", member, T + 1_000);
        if (membershipDeleteFirst) assert.equal(await send(removal), "applied");
        assert.equal(await send(deletedEvent(userId, T + 1_000)), "applied");
        if (!membershipDeleteFirst) assert.equal(await send(removal), "stale");
        assert.deepEqual(await memberships(db, orgId), []);
        assert.equal(
          await send(
            membershipEvent("organizationMembership.updated", { ...member, updatedAt: T + 2_000 }),
          ),
          "stale",
        );
      }
    });
  });

  test(`a slug freed by one organization and taken by another goes to the newer state, in either order, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const reversed of [false, true]) {
        const [a, b] = [id("org"), id("org")];
        const slug = `acme-${crypto.randomUUID().slice(0, 8)}`;
        const events = [
          organizationEvent("organization.created", { id: a, slug, updatedAt: T }),
          organizationEvent("organization.updated", {
            id: a,
            slug: `${slug}-old`,
            updatedAt: T + 1_000,
          }),
          organizationEvent("organization.created", { id: b, slug, updatedAt: T + 2_000 }),
        ];
        for (const event of reversed ? events.reverse() : events) await send(event);
        const rows = await db.sql`
          select clerk_id, slug from public.organizations where clerk_id in (${a}, ${b}) order by slug`;
        assert.deepEqual([...rows], [{ clerk_id: b, slug }, { clerk_id: a, slug: `${slug}-old` }]);
      }
    });
  });

  test(`a legacy role is stored with the org: prefix, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const orgId = id("org");
      for (const [role, n] of [["admin", 0], ["basic_member", 1]] as const) {
        const member = {
          id: id("orgmem"),
          organizationId: orgId,
          userId: `user_${n}`,
          role,
          updatedAt: T,
        };
        assert.equal(
          await send(membershipEvent("organizationMembership.created", member)),
          "applied",
        );
      }
      assert.deepEqual(
        (await memberships(db, orgId)).map((row) => row.role),
        ["org:admin", "org:member"],
      );
    });
  });

  test(`co-members see each other as Clerk shows them: the membership's public_user_data until the user's own row, then the user's, renamed with it, and nothing once the user is deleted, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const org = id("org");
      const user = id("user");
      const state: MembershipState = {
        id: id("orgmem"),
        organizationId: org,
        userId: user,
        updatedAt: T,
      };
      const seen = async () => {
        const rows = await db.sql`
          select user_first_name, user_last_name, user_image_url, user_identifier
          from public.organization_memberships where clerk_id = ${state.id}`;
        return rows.map((row) => ({ ...row }));
      };
      // Clerk's example carries Jane Doe as the member's public data.
      assert.equal(await send(membershipEvent("organizationMembership.created", state)), "applied");
      assert.deepEqual(await seen(), [{
        user_first_name: "Jane",
        user_last_name: "Doe",
        user_image_url: "https://img.clerk.com/yyyyy",
        user_identifier: "jane.doe@acme.com",
      }]);

      const ada = {
        id: user,
        email: `ada.${user}@example.com`,
        firstName: "Ada",
        lastName: "Lovelace",
        imageUrl: "https://img.clerk.com/ada",
        updatedAt: T + 1000,
      };
      assert.equal(await send(userEvent("user.created", ada)), "applied");
      const asAda = {
        user_first_name: "Ada",
        user_last_name: "Lovelace",
        user_image_url: "https://img.clerk.com/ada",
        user_identifier: ada.email,
      };
      assert.deepEqual(await seen(), [asAda]);
      // A newer membership event still carrying the old public data changes the role, not
      // the member's name: the user's own row is newer than its copy.
      assert.equal(
        await send(membershipEvent("organizationMembership.updated", {
          ...state,
          role: "org:admin",
          updatedAt: T + 2000,
        })),
        "applied",
      );
      assert.deepEqual(await seen(), [asAda]);
      assert.equal(
        await send(
          userEvent("user.updated", { ...ada, firstName: "Augusta", updatedAt: T + 3000 }),
        ),
        "applied",
      );
      assert.equal((await seen())[0]?.user_first_name, "Augusta");

      assert.equal(await send(deletedEvent(user, T + 4000)), "applied");
      assert.deepEqual(await seen(), []);
    });
  });
}
