/** parseClerkEvent(): what a verified body becomes, and what it refuses. */
import assert from "node:assert/strict";
import { parseClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import { InvalidEventError } from "../functions/clerk-webhook/schema.ts";
import { deletedEvent, SAMPLE_TEXT, userEvent } from "../dev/clerk_events.ts";

const NOW = Date.UTC(2026, 10, 27);
const parse = (payload: unknown) => parseClerkEvent(JSON.stringify(payload), NOW);

Deno.test("parseClerkEvent() reads Clerk's sample user.created", () => {
  assert.deepEqual(parseClerkEvent(SAMPLE_TEXT, NOW), {
    type: "user.created",
    objectId: "user_29w83sxmDNGwOuEthce5gg56FcC",
    occurredAt: new Date(1654012591835),
    state: {
      email: "example@example.org",
      email_verified: true,
      phone_number: null,
      username: null,
      first_name: "Example",
      last_name: "Example",
      image_url: "https://img.clerk.com/xxxxxx",
      external_id: "567772",
      public_metadata: {},
      unsafe_metadata: {},
      private_metadata: {},
      banned: false,
      locked: false,
      last_sign_in_at: "2022-05-31T15:56:31.514Z",
      clerk_created_at: "2022-05-31T15:56:31.514Z",
      clerk_updated_at: "2022-05-31T15:56:31.835Z",
      sync_format: 2,
    },
  });
});

Deno.test("parseClerkEvent() takes the primary email by id, not the first in the list", () => {
  const event = parse(userEvent("user.updated", {
    id: "user_1",
    email: "primary@example.com",
    otherEmails: ["first@example.com", "second@example.com"],
    updatedAt: NOW - 1,
  }));
  assert.equal(event.state?.email, "primary@example.com");
});

Deno.test("parseClerkEvent() gives a null email to a user with no primary address", () => {
  const none = parse(userEvent("user.created", { id: "user_1", email: null, updatedAt: NOW - 1 }));
  assert.equal(none.state?.email, null);
  const unmatched = userEvent("user.created", {
    id: "user_1",
    email: null,
    otherEmails: ["x@example.com"],
    updatedAt: NOW - 1,
  });
  const event = parse({
    ...unmatched,
    data: { ...(unmatched.data as object), primary_email_address_id: "idn_gone" },
  });
  assert.equal(event.state?.email, null);
});

Deno.test("parseClerkEvent() normalizes times given in seconds to milliseconds", () => {
  const event = parse({ ...deletedEvent("user_1", 1654012591), type: "user.deleted" });
  assert.deepEqual(event.occurredAt, new Date(1654012591000));
});

Deno.test("parseClerkEvent() reads user.deleted, which has no updated_at", () => {
  assert.deepEqual(parse(deletedEvent("user_1", NOW)), {
    type: "user.deleted",
    objectId: "user_1",
    occurredAt: new Date(NOW),
    state: null,
  });
});

Deno.test("parseClerkEvent() passes other event types through with no user id", () => {
  assert.deepEqual(parse({ type: "email.created", timestamp: NOW, data: {} }), {
    type: "email.created",
    objectId: null,
    occurredAt: new Date(NOW),
    state: null,
  });
});

Deno.test("parseClerkEvent() tolerates extra, legacy and null fields", () => {
  const event = userEvent("user.updated", {
    id: "user_1",
    email: "a@example.com",
    updatedAt: NOW - 1,
  });
  const data = {
    ...(event.data as object),
    private_metadata: null,
    something_new: { nested: [1, 2] },
    first_name: undefined,
  };
  assert.equal(parse({ ...event, data, extra: true }).objectId, "user_1");
});

Deno.test("parseClerkEvent() refuses what it cannot store, naming the field", () => {
  const good = userEvent("user.updated", {
    id: "user_1",
    email: "a@example.com",
    updatedAt: NOW - 1,
  });
  const data = good.data as Record<string, unknown>;
  const cases: [string, unknown, RegExp][] = [
    ["not an object", [], /event/],
    ["no type", { ...good, type: undefined }, /type/],
    ["no timestamp", { ...good, timestamp: undefined }, /timestamp/],
    ["future timestamp", { ...good, timestamp: NOW + 3_600_000 }, /timestamp: time in the future/],
    [
      "future updated_at",
      { ...good, data: { ...data, updated_at: NOW + 3_600_000 } },
      /data.updated_at/,
    ],
    ["negative time", { ...good, data: { ...data, created_at: -1 } }, /data.created_at/],
    ["NUL in a name", { ...good, data: { ...data, first_name: "a\u0000b" } }, /data.first_name/],
    ["lone surrogate", { ...good, data: { ...data, last_name: "\ud800" } }, /data.last_name/],
    ["email too long", {
      ...good,
      data: {
        ...data,
        email_addresses: [{ id: "idn_primary", email_address: `${"a".repeat(320)}@x.io` }],
      },
    }, /email_address/],
    ["id not a string", { ...good, data: { ...data, id: 42 } }, /data.id/],
    ["public_metadata an array", {
      ...good,
      data: { ...data, public_metadata: ["admin"] },
    }, /data.public_metadata/],
    ["public_metadata a string", {
      ...good,
      data: { ...data, public_metadata: "admin" },
    }, /data.public_metadata/],
    ["NUL inside metadata", {
      ...good,
      data: { ...data, unsafe_metadata: { note: { deep: ["a\u0000"] } } },
    }, /data.unsafe_metadata/],
    ["lone surrogate in a metadata key", {
      ...good,
      data: { ...data, private_metadata: { "\ud800": 1 } },
    }, /data.private_metadata/],
    ["phone_numbers not an array", {
      ...good,
      data: { ...data, phone_numbers: { id: "idn_phone" } },
    }, /data.phone_numbers/],
    ["banned not a boolean", { ...good, data: { ...data, banned: "yes" } }, /data.banned/],
  ];
  for (const [name, payload, message] of cases) {
    assert.throws(
      () => parse(payload),
      (error: unknown) => error instanceof InvalidEventError && message.test(error.message),
      name,
    );
  }
  assert.throws(() => parseClerkEvent("{", NOW), /Body is not JSON/);
});

Deno.test("parseClerkEvent() reads the fields apps build on: username, primary phone by id, verification, metadata, ban state", () => {
  const base = userEvent("user.updated", {
    id: "user_1",
    email: "a@example.com",
    updatedAt: NOW - 1,
  });
  const event = parse({
    ...base,
    data: {
      ...(base.data as object),
      username: "ada",
      phone_numbers: [
        { id: "idn_other", phone_number: "+15550000001" },
        { id: "idn_main", phone_number: "+15550000002" },
      ],
      primary_phone_number_id: "idn_main",
      external_id: "ext-1",
      public_metadata: { role: "admin" },
      private_metadata: { stripe: "cus_1" },
      unsafe_metadata: null,
      banned: true,
      locked: null,
      last_sign_in_at: NOW - 1000,
    },
  });
  assert.deepEqual(
    {
      username: event.state?.username,
      phone_number: event.state?.phone_number,
      email_verified: event.state?.email_verified,
      external_id: event.state?.external_id,
      public_metadata: event.state?.public_metadata,
      private_metadata: event.state?.private_metadata,
      unsafe_metadata: event.state?.unsafe_metadata,
      banned: event.state?.banned,
      locked: event.state?.locked,
      last_sign_in_at: event.state?.last_sign_in_at,
    },
    {
      username: "ada",
      phone_number: "+15550000002",
      email_verified: true,
      external_id: "ext-1",
      public_metadata: { role: "admin" },
      private_metadata: { stripe: "cus_1" },
      unsafe_metadata: {},
      banned: true,
      locked: false,
      last_sign_in_at: new Date(NOW - 1000).toISOString(),
    },
  );
});

Deno.test("parseClerkEvent() leaves private_metadata out of the state when Clerk leaves it out, so the stored one stays", () => {
  const base = userEvent("user.updated", { id: "user_1", email: null, updatedAt: NOW - 1 });
  const { private_metadata: _, ...data } = base.data as Record<string, unknown>;
  const event = parse({ ...base, data });
  assert.equal(event.state !== null && "private_metadata" in event.state, false);
});

Deno.test("parseClerkEvent() accepts an unverified primary address as unverified", () => {
  const base = userEvent("user.created", {
    id: "user_1",
    email: "a@example.com",
    updatedAt: NOW - 1,
  });
  const data = base.data as { email_addresses: Record<string, unknown>[] };
  const addresses = data.email_addresses.map((address) => ({
    ...address,
    verification: { status: "unverified", strategy: "email_code" },
  }));
  const event = parse({ ...base, data: { ...data, email_addresses: addresses } });
  assert.equal(event.state?.email_verified, false);
});

Deno.test("parseClerkEvent() reads every one of Clerk's published webhook examples", async () => {
  const directory = new URL("../fixtures/clerk/openapi-examples/", import.meta.url);
  const parsed: Record<string, string | null> = {};
  for await (const entry of Deno.readDir(directory)) {
    if (!entry.name.endsWith(".json")) continue;
    const event = parseClerkEvent(await Deno.readTextFile(new URL(entry.name, directory)), NOW);
    parsed[event.type] = event.objectId;
  }
  // Users, organizations, memberships, invitations, roles, permissions, domains, billing and
  // the waitlist are synced (the domain examples name two domains); the others (session,
  // email and sms events among them) are acknowledged with no object.
  assert.deepEqual(parsed, {
    "email.created": null,
    "organization.created": "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organization.deleted": "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organization.updated": "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationDomain.created": "orgdmn_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationDomain.deleted": "orgdm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationDomain.updated": "orgdm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationInvitation.accepted": "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationInvitation.created": "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationInvitation.revoked": "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationMembership.created": "orgmem_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationMembership.deleted": "orgmem_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "organizationMembership.updated": "orgmem_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "paymentAttempt.created": "pa_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "paymentAttempt.updated": "pa_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "permission.created": "perm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "permission.deleted": "perm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "permission.updated": "perm_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "role.created": "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "role.deleted": "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "role.updated": "role_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "session.created": null,
    "sms.created": null,
    "subscription.active": "csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscription.created": "csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscription.pastDue": "csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscription.updated": "csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.abandoned": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.active": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.canceled": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.ended": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.freeTrialEnding": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.incomplete": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.pastDue": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.upcoming": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "subscriptionItem.updated": "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "user.created": "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "user.deleted": "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "user.updated": "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "waitlistEntry.created": "wle_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
    "waitlistEntry.updated": "wle_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
  });
});
