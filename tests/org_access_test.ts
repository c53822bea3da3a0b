/**
 * Invitations, roles, permissions and domains through the real handler over HTTP into a
 * real database, on both transports: Clerk's published examples of every type into their
 * tables (and an invitation's private metadata into its _private table), an
 * organization's delete taking its invitations and domains along, deletes ordered by
 * the envelope timestamp.
 */
import assert from "node:assert/strict";
import {
  domainEvent,
  invitationEvent,
  objectDeletedEvent,
  organizationDeletedEvent,
  organizationEvent,
  roleEvent,
} from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import { newSecret } from "../dev/webhooks.ts";
import { runDeno } from "./support/run_deno.ts";
import {
  directStore,
  serveHandler,
  testOn,
  TRANSPORTS,
  withHandler,
} from "./support/transports.ts";

const EXAMPLES = new URL("../fixtures/clerk/openapi-examples/", import.meta.url);
const example = (type: string) => Deno.readTextFile(new URL(`${type}.json`, EXAMPLES));
const T = Date.now() - 60 * 60 * 1000;

const id = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

for (const transport of TRANSPORTS) {
  const test = testOn(transport);

  test(`Clerk's published role and permission examples apply in turn over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const read = async () => ({
        roles: [
          ...await db.sql`
            select clerk_id, key, name, description, permissions from public.organization_roles`,
        ],
        permissions: [
          ...await db.sql`
            select clerk_id, key, name, description, type from public.organization_permissions`,
        ],
      });
      for (const type of ["role.created", "permission.created"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      assert.deepEqual(await read(), {
        roles: [{
          clerk_id: "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          key: "org:content_manager",
          name: "Content Manager",
          description: "Can manage all content in the organization",
          permissions: ["org:posts:create"],
        }],
        permissions: [{
          clerk_id: "perm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          key: "org:posts:create",
          name: "Create Posts",
          description: "Ability to create new posts in the organization",
          type: "custom",
        }],
      });
      for (const type of ["role.updated", "permission.updated"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      const updated = await read();
      assert.deepEqual(updated.roles.map((role) => ({ ...role })), [{
        clerk_id: "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        // The example's key has no prefix; memberships name roles with it.
        key: "org:editor",
        name: "Editor",
        description: "Can edit and publish content",
        permissions: ["org:posts:edit", "org:posts:publish"],
      }]);
      assert.equal(updated.permissions[0]?.name, "Create and Edit Posts");
      // The deletes carry no updated_at, and the examples' envelope timestamps are the
      // creates': they still win, and a late update is stale.
      for (const type of ["role.deleted", "permission.deleted"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      assert.deepEqual(await read(), { roles: [], permissions: [] });
      for (const type of ["role.updated", "permission.updated"]) {
        assert.equal(await send(await example(type)), "stale", `${type} after the delete`);
      }
    });
  });

  test(`Clerk's published invitation examples apply, with private metadata apart, over ${transport}`, async () => {
    for (const last of ["organizationInvitation.accepted", "organizationInvitation.revoked"]) {
      await withHandler(transport, async (db, send) => {
        const read = async () =>
          (await db.sql`
            select i.organization_id, i.email_address, i.role, i.role_name, i.status, i.user_id,
                   i.expires_at, p.private_metadata
            from public.organization_invitations i
            left join public.organization_invitations_private p using (clerk_id)`)
            .map((row) => ({ ...row }));
        assert.equal(await send(await example("organizationInvitation.created")), "applied");
        const pending = {
          organization_id: "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          email_address: "jane.doe@acme.com",
          role: "org:member",
          role_name: "Member",
          status: "pending",
          user_id: null,
          expires_at: new Date(1717487999000),
          private_metadata: {},
        };
        assert.deepEqual(await read(), [pending]);
        assert.equal(await send(await example(last)), "applied", last);
        assert.deepEqual(await read(), [
          last === "organizationInvitation.accepted"
            ? { ...pending, status: "accepted", user_id: "user_2h8op3Isl1QR7tKu5FGNfaLKEoU" }
            : { ...pending, status: "revoked" },
        ]);
      });
    }
  });

  test(`Clerk's published domain examples apply in turn over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const read = async () =>
        (await db.sql`
          select clerk_id, organization_id, name, enrollment_mode, verification_status
          from public.organization_domains order by clerk_id`).map((row) => ({ ...row }));
      for (const type of ["organizationDomain.created", "organizationDomain.updated"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      // The published examples name two domains: orgdmn_… created, orgdm_… updated.
      assert.deepEqual(await read(), [
        {
          clerk_id: "orgdm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          organization_id: "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          name: "acme.com",
          enrollment_mode: "automatic_suggestion",
          verification_status: "verified",
        },
        {
          clerk_id: "orgdmn_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          organization_id: "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
          name: "acme.com",
          enrollment_mode: "automatic_invitation",
          verification_status: null,
        },
      ]);
      assert.equal(await send(await example("organizationDomain.deleted")), "applied");
      assert.deepEqual((await read()).map((row) => row.clerk_id), [
        "orgdmn_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
      ]);
      assert.equal(await send(await example("organizationDomain.updated")), "stale");
    });
  });

  test(`organization.deleted takes its invitations and domains along; their late events are stale, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const [orgId, other] = [id("org"), id("org")];
      const invitation = {
        id: id("orginv"),
        organizationId: orgId,
        privateMetadata: { note: "vip" },
        updatedAt: T,
      };
      const domain = { id: id("orgdmn"), organizationId: orgId, updatedAt: T };
      const kept = { id: id("orgdmn"), organizationId: other, updatedAt: T };
      for (
        const event of [
          organizationEvent("organization.created", { id: orgId, updatedAt: T }),
          invitationEvent("organizationInvitation.created", invitation),
          domainEvent("organizationDomain.created", domain),
          domainEvent("organizationDomain.created", kept),
        ]
      ) assert.equal(await send(event), "applied");
      assert.equal(await send(organizationDeletedEvent(orgId, T + 5_000)), "applied");
      assert.equal(
        await send(
          invitationEvent("organizationInvitation.accepted", {
            ...invitation,
            userId: id("user"),
            updatedAt: T + 6_000,
          }),
        ),
        "stale",
      );
      assert.equal(
        await send(domainEvent("organizationDomain.updated", { ...domain, updatedAt: T + 6_000 })),
        "stale",
      );
      const late = { id: id("orginv"), organizationId: orgId, updatedAt: T + 1_000 };
      assert.equal(await send(invitationEvent("organizationInvitation.created", late)), "stale");
      const [counts] = await db.sql`
        select (select count(*)::int from public.organization_invitations) as invitations,
               (select count(*)::int from public.organization_invitations_private) as private,
               (select array_agg(clerk_id) from public.organization_domains) as domains`;
      assert.deepEqual({ ...counts }, { invitations: 0, private: 0, domains: [kept.id] });
    });
  });

  test(`a role's states apply newest first or last, and its delete wins by the envelope timestamp, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const role = { id: id("role"), key: "org:editor", permissions: ["org:posts:edit"] };
      const older = roleEvent("role.created", { ...role, updatedAt: T });
      const newer = roleEvent("role.updated", {
        ...role,
        permissions: ["org:posts:edit", "org:posts:publish"],
        updatedAt: T + 1_000,
      });
      assert.equal(await send(newer), "applied");
      assert.equal(await send(older), "stale");
      const [row] = await db.sql`
        select permissions from public.organization_roles where clerk_id = ${role.id}`;
      assert.deepEqual(row?.permissions, ["org:posts:edit", "org:posts:publish"]);
      assert.equal(await send(objectDeletedEvent("role.deleted", role.id, T + 2_000)), "applied");
      assert.equal(await send(objectDeletedEvent("role.deleted", role.id, T + 3_000)), "stale");
      assert.equal(
        await send(roleEvent("role.updated", { ...role, updatedAt: T + 4_000 })),
        "stale",
        "a role is not resurrected by an update after its delete",
      );
    });
  });
}

Deno.test("npm run send builds invitation, role, permission and domain events from Clerk's published examples, --id and --org naming them", async () => {
  await using db = await scratchDatabase();
  const store = directStore(db.url);
  const secret = newSecret();
  await using server = serveHandler(store, secret);
  const send = (args: string[]) =>
    runDeno(
      [
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "cli/local/send.ts",
        ...args,
        "--url",
        server.url,
      ],
      { CLERK_WEBHOOK_SECRET: secret },
    );
  try {
    const sent = await send([
      "organizationInvitation.created",
      "organizationInvitation.accepted",
      "role.created",
      "role.updated",
      "permission.created",
      "organizationDomain.created",
      "--org",
      "org_send",
    ]);
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    assert.equal(sent.stdout.match(/→ 200 applied$/gm)?.length, 6, sent.stdout);
    const [row] = await db.sql`select
      (select status || ' ' || organization_id from public.organization_invitations) as invitation,
      (select key from public.organization_roles) as role,
      (select count(*)::int from public.organization_permissions) as permissions,
      (select organization_id from public.organization_domains) as domain`;
    assert.deepEqual({ ...row }, {
      invitation: "accepted org_send",
      role: "org:editor",
      permissions: 1,
      domain: "org_send",
    });
    const removed = await send(["role.deleted", "--id", "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S"]);
    assert.match(
      removed.stdout,
      /^role\.deleted {2}role_2g7np7Hrk0SN6kj5EDMLDaKNL0S .*→ 200 applied$/m,
    );
  } finally {
    await store.close();
  }
});
