/** parseClerkEvent(): what a verified body becomes, and what it refuses. */
import assert from "node:assert/strict";
import { InvalidEventError, parseClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import { deletedEvent, SAMPLE_TEXT, userEvent } from "../dev/clerk_events.ts";

const NOW = Date.UTC(2026, 10, 27);
const parse = (payload: unknown) => parseClerkEvent(JSON.stringify(payload), NOW);

Deno.test("parseClerkEvent() reads Clerk's sample user.created", () => {
  assert.deepEqual(parseClerkEvent(SAMPLE_TEXT, NOW), {
    type: "user.created",
    clerkId: "user_29w83sxmDNGwOuEthce5gg56FcC",
    occurredAt: new Date(1654012591835),
    user: {
      email: "example@example.org",
      firstName: "Example",
      lastName: "Example",
      imageUrl: "https://img.clerk.com/xxxxxx",
      createdAt: new Date(1654012591514),
      updatedAt: new Date(1654012591835),
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
  assert.equal("user" in event && event.user.email, "primary@example.com");
});

Deno.test("parseClerkEvent() gives a null email to a user with no primary address", () => {
  const none = parse(userEvent("user.created", { id: "user_1", email: null, updatedAt: NOW - 1 }));
  assert.equal("user" in none && none.user.email, null);
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
  assert.equal("user" in event && event.user.email, null);
});

Deno.test("parseClerkEvent() normalizes times given in seconds to milliseconds", () => {
  const event = parse({ ...deletedEvent("user_1", 1654012591), type: "user.deleted" });
  assert.deepEqual(event.occurredAt, new Date(1654012591000));
});

Deno.test("parseClerkEvent() reads user.deleted, which has no updated_at", () => {
  assert.deepEqual(parse(deletedEvent("user_1", NOW)), {
    type: "user.deleted",
    clerkId: "user_1",
    occurredAt: new Date(NOW),
  });
});

Deno.test("parseClerkEvent() passes other event types through with no user id", () => {
  assert.deepEqual(parse({ type: "email.created", timestamp: NOW, data: {} }), {
    type: "email.created",
    clerkId: null,
    occurredAt: new Date(NOW),
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
  assert.equal(parse({ ...event, data, extra: true }).clerkId, "user_1");
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
