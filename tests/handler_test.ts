/**
 * createHandler(), over real HTTP, writing through the direct transport into a scratch
 * copy of the migrated database: one test per row of the function's answer table.
 */
import { directStore } from "./support/transports.ts";
import assert from "node:assert/strict";
import { createHandler, type LogEntry } from "../functions/clerk-webhook/handler.ts";
import { WebhookVerifier } from "../functions/clerk-webhook/verify.ts";
import { deletedEvent, newClerkId, SAMPLE_TEXT, userEvent } from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import { serveLocally } from "./support/server.ts";
import { deliver, newSecret, newSvixId, svixHeaders } from "../dev/webhooks.ts";

// Module-wide fixtures: the runner drops the database; the process ends with the server.
const db = await scratchDatabase();
const secret = newSecret();
const logs: LogEntry[] = [];
const store = directStore(db.url);
const server = serveLocally(
  createHandler({
    verifier: new WebhookVerifier([secret]),
    store,
    log: (entry) => logs.push(entry),
  }),
);

async function written(): Promise<{ users: number; deliveries: number }> {
  const [row] = await db.sql`
    select (select count(*)::int from public.users) as users,
           (select count(*)::int from clerk_sync.deliveries) as deliveries`;
  return { users: row!.users, deliveries: row!.deliveries };
}

Deno.test("handler answers 405 with Allow: POST to a GET", async () => {
  const response = await fetch(server.url);
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
  await response.body?.cancel();
});

Deno.test("handler answers 413 to a body over 1 MiB, declared or streamed, and writes nothing", async () => {
  const before = await written();
  const big = "x".repeat(1024 * 1024 + 1);
  const declared = await fetch(server.url, {
    method: "POST",
    body: big,
    headers: svixHeaders(big, { secret }),
  });
  assert.equal(declared.status, 413);
  await declared.body?.cancel();

  const chunks = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(64 * 1024));
      controller.close();
    },
  });
  const streamed = await fetch(server.url, {
    method: "POST",
    body: chunks,
    headers: svixHeaders("", { secret }),
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  assert.deepEqual(await written(), before);
});

Deno.test("handler answers 400 to missing headers, a bad signature or a wrong secret, writing nothing", async () => {
  const before = await written();
  const body = JSON.stringify(
    userEvent("user.created", { id: newClerkId(), email: null, updatedAt: Date.now() }),
  );
  const cases: Record<string, Record<string, string>> = {
    "no headers": {},
    "no svix-signature": { ...svixHeaders(body, { secret }), "svix-signature": "" },
    "tampered signature": { ...svixHeaders(body, { secret }), "svix-signature": "v1,AAAA" },
    "wrong secret": svixHeaders(body, { secret: newSecret() }),
    "stale timestamp": svixHeaders(body, {
      secret,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    }),
  };
  for (const [name, headers] of Object.entries(cases)) {
    const response = await fetch(server.url, { method: "POST", headers, body });
    assert.equal(response.status, 400, name);
    assert.match((await response.json()).error, /\w/, name);
  }
  const tampered = await fetch(server.url, {
    method: "POST",
    headers: svixHeaders(body, { secret }),
    body: body.replace("user_", "user-"),
  });
  assert.equal(tampered.status, 400);
  await tampered.body?.cancel();
  assert.deepEqual(await written(), before);
});

Deno.test("handler answers 422 to verified bodies that are not processable Clerk events", async () => {
  const before = await written();
  const now = Date.now();
  const bodies: Record<string, unknown> = {
    "not JSON": "{not json",
    "no data.id": { type: "user.created", timestamp: now, data: { email_addresses: [] } },
    "data.id not a string": {
      ...userEvent("user.updated", { id: newClerkId(), email: null, updatedAt: now }),
      data: { id: 7 },
    },
    "email_addresses not an array": {
      type: "user.created",
      timestamp: now,
      data: { id: newClerkId(), email_addresses: "a@b.c", created_at: now, updated_at: now },
    },
    "no updated_at": {
      type: "user.updated",
      timestamp: now,
      data: { id: newClerkId(), email_addresses: [] },
    },
    "deleted without id": { type: "user.deleted", timestamp: now, data: { deleted: true } },
  };
  for (const [name, payload] of Object.entries(bodies)) {
    const { status, body } = await deliver(server.url, payload, { secret });
    assert.equal(status, 422, name);
    assert.match(String(body.error), /^(Not a Clerk event|Body is not JSON)/, name);
  }
  assert.deepEqual(await written(), before);
});

Deno.test("handler records a verified delivery it answers 422 for the status report, once per svix-id; a forged one records nothing", async () => {
  const svixId = newSvixId();
  const forgedId = newSvixId();
  const payload = { type: "user.created", timestamp: Date.now(), data: { email_addresses: [] } };
  for (let attempt = 0; attempt < 2; attempt++) {
    assert.equal((await deliver(server.url, payload, { secret, id: svixId })).status, 422);
  }
  const forged = await deliver(server.url, payload, { secret: newSecret(), id: forgedId });
  assert.equal(forged.status, 400);
  const rows = await db.sql`
    select svix_id, event_type, status, attempts from clerk_sync.refusals
    where svix_id in (${svixId}, ${forgedId})`;
  assert.deepEqual(rows.map((row) => ({ ...row })), [
    { svix_id: svixId, event_type: "user.created", status: 422, attempts: 2 },
  ]);
  const logged = logs.filter((entry) => entry.svix_id === svixId);
  assert.deepEqual(logged.map((entry) => entry.type), ["user.created", "user.created"]);
});

Deno.test("handler acknowledges other event types as ignored, once", async () => {
  const id = newSvixId();
  const event = {
    type: "session.created",
    object: "event",
    timestamp: Date.now(),
    data: { id: "sess_1" },
  };
  assert.deepEqual(await deliver(server.url, event, { secret, id }), {
    status: 200,
    body: { outcome: "ignored" },
  });
  assert.deepEqual(await deliver(server.url, event, { secret, id }), {
    status: 200,
    body: { outcome: "duplicate" },
  });
  const [row] = await db.sql`select outcome from clerk_sync.deliveries where svix_id = ${id}`;
  assert.equal(row?.outcome, "ignored");
});

Deno.test("handler syncs Clerk's own sample event verbatim", async () => {
  const { status, body } = await deliver(server.url, SAMPLE_TEXT, { secret });
  assert.deepEqual({ status, body }, { status: 200, body: { outcome: "applied" } });
  const [user] = await db.sql`
    select email, first_name, last_name, image_url, clerk_created_at, clerk_updated_at
    from public.users where clerk_id = 'user_29w83sxmDNGwOuEthce5gg56FcC'`;
  assert.deepEqual(user, {
    email: "example@example.org",
    first_name: "Example",
    last_name: "Example",
    image_url: "https://img.clerk.com/xxxxxx",
    clerk_created_at: new Date(1654012591514),
    clerk_updated_at: new Date(1654012591835),
  });
});

Deno.test("handler answers applied, duplicate and stale with 200", async () => {
  const id = newClerkId();
  const t = Date.now() - 60_000;
  const svixId = newSvixId();
  const created = userEvent("user.created", { id, email: `${id}@example.com`, updatedAt: t });
  assert.deepEqual((await deliver(server.url, created, { secret, id: svixId })).body, {
    outcome: "applied",
  });
  assert.deepEqual((await deliver(server.url, created, { secret, id: svixId })).body, {
    outcome: "duplicate",
  });
  const older = userEvent("user.updated", {
    id,
    email: `old-${id}@example.com`,
    updatedAt: t - 1000,
  });
  const stale = await deliver(server.url, older, { secret });
  assert.deepEqual(stale, { status: 200, body: { outcome: "stale" } });
  const [user] = await db.sql`select email from public.users where clerk_id = ${id}`;
  assert.equal(user?.email, `${id}@example.com`);
  assert.deepEqual((await deliver(server.url, deletedEvent(id, t + 1), { secret })).body, {
    outcome: "applied",
  });
});

Deno.test("handler answers 503 when the database refuses connections, and 200 once it is back", async () => {
  const closed = directStore("postgres://postgres@127.0.0.1:1/none", { timeoutMs: 2000 });
  await using down = serveLocally(
    createHandler({ verifier: new WebhookVerifier([secret]), store: closed, log: () => {} }),
  );
  const event = userEvent("user.created", { id: newClerkId(), email: null, updatedAt: Date.now() });
  const svixId = newSvixId();
  const failed = await deliver(down.url, event, { secret, id: svixId });
  assert.equal(failed.status, 503);
  await closed.close();
  // Svix retries with the same svix-id; the retry reaches a working database.
  assert.deepEqual(await deliver(server.url, event, { secret, id: svixId }), {
    status: 200,
    body: { outcome: "applied" },
  });
});

Deno.test("handler answers 503 when the users table stays locked, and commits nothing", async () => {
  const event = userEvent("user.created", { id: newClerkId(), email: null, updatedAt: Date.now() });
  const svixId = newSvixId();
  const reserved = await db.sql.reserve();
  try {
    await reserved`begin`;
    await reserved`lock table public.users in access exclusive mode`;
    const started = performance.now();
    const { status } = await deliver(server.url, event, { secret, id: svixId });
    assert.equal(status, 503);
    assert.ok(performance.now() - started < 10_000);
    await reserved`rollback`;
  } finally {
    reserved.release();
  }
  const ledger = await db.sql`select 1 from clerk_sync.deliveries where svix_id = ${svixId}`;
  assert.equal(ledger.length, 0);
  assert.deepEqual((await deliver(server.url, event, { secret, id: svixId })).body, {
    outcome: "applied",
  });
});

Deno.test("handler logs one JSON-able line per request, with ids but no emails or names", () => {
  assert.ok(logs.length >= 10);
  for (const entry of logs) {
    assert.deepEqual(Object.keys(entry).slice(0, 6), [
      "svix_id",
      "type",
      "clerk_id",
      "outcome",
      "status",
      "ms",
    ]);
    const line = JSON.stringify(entry);
    assert.doesNotMatch(line, /@|Example/, line);
  }
  assert.ok(logs.some((entry) => entry.status === 200 && entry.clerk_id?.startsWith("user_")));
});
