/**
 * Group commit on a real PostgreSQL: deliveries in flight together share one call and
 * one transaction, each still answered with its own outcome; one bad delivery does not
 * change the others'; a passing failure answers 503 to exactly the deliveries that did
 * not commit; and concurrent batches over the same users and emails never deadlock.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  domainEvent,
  invitationEvent,
  newClerkId,
  objectDeletedEvent,
  organizationDeletedEvent,
  organizationEvent,
  roleEvent,
  userEvent,
} from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import { newSvixId } from "../dev/webhooks.ts";
import { type ClerkEvent, parseClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import { StoreUnavailableError } from "../functions/clerk-webhook/store.ts";
import { Random } from "./support/clerk_history.ts";
import { directStore, openTransport, testOn, TRANSPORTS } from "./support/transports.ts";

// Module-wide fixtures: the runner drops the database; the process ends with the pool.
const db = await scratchDatabase();
const T = Date.now() - 3_600_000;

function created(id: string, email: string | null, updatedAt = T): ClerkEvent {
  return parseClerkEvent(JSON.stringify(userEvent("user.created", { id, email, updatedAt })));
}

/** How many transactions wrote the ledger entries of `svixIds`. */
async function transactionsOf(svixIds: string[]): Promise<number> {
  const [row] = await db.sql`
    select count(distinct xmin::text)::int as n
    from clerk_sync.deliveries where svix_id = any (${svixIds})`;
  return row!.n;
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`groupCommit() applies deliveries in flight together in one transaction, each with its outcome (${transport})`, async () => {
    await using store = await openTransport(transport, db.url);
    const ids = Array.from({ length: 40 }, newClerkId);
    const svixIds = ids.map(newSvixId);
    const again = svixIds[0]!;
    const outcomes = await Promise.all([
      ...ids.map((id, i) => store.apply(svixIds[i]!, created(id, `${id}@example.com`))),
      // The same delivery twice in flight: whichever commits first applies.
      store.apply(again, created(ids[0]!, `${ids[0]}@example.com`)),
    ]);
    assert.deepEqual(outcomes.slice(1, -1), ids.slice(1).map(() => "applied"));
    assert.deepEqual([outcomes[0], outcomes.at(-1)].sort(), ["applied", "duplicate"]);
    // Four calls in flight by default: the rest waited and went together.
    assert.ok((await transactionsOf(svixIds)) <= 8, "40 deliveries took at most 8 transactions");
    const [count] = await db
      .sql`select count(*)::int as n from public.users where clerk_id = any (${ids})`;
    assert.equal(count!.n, 40);
  });
}

Deno.test("groupCommit() sends a lone delivery at once, in its own transaction", async () => {
  await using store = await openTransport("direct", db.url);
  const id = newClerkId();
  const svixId = newSvixId();
  assert.equal(await store.apply(svixId, created(id, null)), "applied");
  const other = newSvixId();
  assert.equal(await store.apply(other, created(newClerkId(), null)), "applied");
  assert.equal(await transactionsOf([svixId, other]), 2);
});

Deno.test("groupCommit() does not let one failing delivery change the outcome of the others", async () => {
  await using store = await openTransport("direct", db.url);
  const ids = Array.from({ length: 12 }, newClerkId);
  // A state the SQL function refuses (timestamps that are none): a bug or bad data, a 500.
  const broken: ClerkEvent = {
    type: "user.updated",
    objectId: newClerkId(),
    occurredAt: new Date(T),
    state: { email: null, clerk_created_at: "never", clerk_updated_at: "never" },
  };
  const brokenId = newSvixId();
  const results = await Promise.allSettled([
    ...ids.map((id) => store.apply(newSvixId(), created(id, null))),
    store.apply(brokenId, broken),
  ]);
  assert.deepEqual(
    results.slice(0, -1).map((r) => r.status === "fulfilled" && r.value),
    ids.map(() => "applied"),
  );
  const failed = results.at(-1)!;
  assert.equal(failed.status, "rejected");
  assert.ok(!((failed as PromiseRejectedResult).reason instanceof StoreUnavailableError));
  const rows = await db.sql`select clerk_id from public.users where clerk_id = any (${ids})`;
  assert.equal(rows.length, ids.length);
  const ledger = await db.sql`select 1 from clerk_sync.deliveries where svix_id = ${brokenId}`;
  assert.equal(ledger.length, 0, "the failed delivery is not recorded: its retry will apply it");
});

Deno.test("groupCommit() answers 503 to every delivery of a batch that could not commit, and commits none of them", async () => {
  await using store = createDisposable(directStore(db.url, { timeoutMs: 6000 }));
  const ids = Array.from({ length: 6 }, newClerkId);
  const svixIds = ids.map(newSvixId);
  const reserved = await db.sql.reserve();
  let results;
  try {
    await reserved`begin`;
    await reserved`lock table public.users in access exclusive mode`;
    // Past lock_timeout (3 s) every call fails with 55P03.
    results = await Promise.allSettled(
      ids.map((id, i) => store.apply(svixIds[i]!, created(id, null))),
    );
  } finally {
    await reserved`rollback`;
    reserved.release();
  }
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok((result as PromiseRejectedResult).reason instanceof StoreUnavailableError);
  }
  assert.equal(await transactionsOf(svixIds), 0, "nothing was recorded");
  // Svix retries with the same svix-ids: now they apply.
  const retried = await Promise.all(
    ids.map((id, i) => store.apply(svixIds[i]!, created(id, null))),
  );
  assert.deepEqual(retried, ids.map(() => "applied"));
});

Deno.test("apply_clerk_events(): concurrent batches over the same users, emails and slugs never deadlock", async () => {
  const random = new Random(20261202);
  const users = Array.from({ length: 8 }, newClerkId);
  const emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"];
  const orgs = Array.from({ length: 4 }, () => `org_${crypto.randomUUID().slice(0, 8)}`);
  let clock = T;
  /** A batch of 20 events over the shared users and organizations, emails and slugs moving. */
  const batch = () =>
    Array.from({ length: 20 }, () => {
      clock += 1;
      const event = random.next() < 0.7
        ? created(random.pick(users), random.pick(emails), clock)
        : parseClerkEvent(JSON.stringify(organizationEvent("organization.updated", {
          id: random.pick(orgs),
          name: "Org",
          slug: random.pick(["one", "two", "three"]),
          updatedAt: clock,
        })));
      return {
        svix_id: newSvixId(),
        type: event.type,
        event_at: event.occurredAt.toISOString(),
        object_id: event.objectId,
        state: event.state,
      };
    });
  // 16 connections, each calling the SQL function directly, 10 batches each.
  const sql = postgres(db.url, { max: 16, onnotice: () => {} });
  const failures: string[] = [];
  try {
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let round = 0; round < 10; round++) {
        try {
          await sql`select public.apply_clerk_events(${sql.json(batch() as postgres.JSONValue)})`;
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? error));
        }
      }
    }));
  } finally {
    await sql.end();
  }
  assert.deepEqual(failures, [], "no batch failed (40P01 would be a deadlock)");
  // Each email is held by one user at most.
  const held = await db.sql`
    select lower(email) as email, count(*)::int as n from public.users
    where clerk_id = any (${users}) and email is not null group by 1 having count(*) > 1`;
  assert.equal(held.length, 0);
});

Deno.test("apply_clerk_events(): concurrent batches of organization deletes and their invitations', domains' and roles' events never deadlock", async () => {
  const random = new Random(20261205);
  const tag = crypto.randomUUID().slice(0, 8);
  const orgs = Array.from({ length: 12 }, (_, n) => `org_${tag}_${n}`);
  const invitations = Array.from({ length: 12 }, (_, n) => `orginv_${tag}_${n}`);
  const domains = Array.from({ length: 8 }, (_, n) => `orgdmn_${tag}_${n}`);
  const roles = Array.from({ length: 3 }, (_, n) => `role_${tag}_${n}`);
  let clock = T;
  const build = (): Record<string, unknown> => {
    clock += 1;
    const org = random.pick(orgs);
    const roll = random.next();
    if (roll < 0.15) {
      return organizationEvent("organization.updated", { id: org, updatedAt: clock });
    }
    if (roll < 0.25) return organizationDeletedEvent(org, clock);
    // An invitation's or a domain's organization never changes: the n-th is of orgs[n].
    if (roll < 0.5) {
      const n = random.int(invitations.length);
      return invitationEvent(
        random.pick(["organizationInvitation.created", "organizationInvitation.accepted"]),
        { id: invitations[n]!, organizationId: orgs[n]!, userId: newClerkId(), updatedAt: clock },
      );
    }
    if (roll < 0.7) {
      const n = random.int(domains.length);
      return domainEvent("organizationDomain.updated", {
        id: domains[n]!,
        organizationId: orgs[n]!,
        updatedAt: clock,
      });
    }
    if (roll < 0.8) {
      return objectDeletedEvent("organizationDomain.deleted", random.pick(domains), clock);
    }
    if (roll < 0.95) {
      return roleEvent("role.updated", {
        id: random.pick(roles),
        key: "org:editor",
        permissions: ["org:posts:write"],
        updatedAt: clock,
      });
    }
    return objectDeletedEvent("role.deleted", random.pick(roles), clock);
  };
  const batch = () =>
    Array.from({ length: 20 }, () => {
      const event = parseClerkEvent(JSON.stringify(build()));
      return {
        svix_id: newSvixId(),
        type: event.type,
        event_at: event.occurredAt.toISOString(),
        object_id: event.objectId,
        state: event.state,
      };
    });
  const sql = postgres(db.url, { max: 16, onnotice: () => {} });
  const failures: string[] = [];
  try {
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let round = 0; round < 10; round++) {
        try {
          await sql`select public.apply_clerk_events(${sql.json(batch() as postgres.JSONValue)})`;
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? error));
        }
      }
    }));
  } finally {
    await sql.end();
  }
  assert.deepEqual(failures, [], "no batch failed (40P01 would be a deadlock)");
  // A deleted organization keeps no invitation and no domain.
  const orphans = await db.sql`
    select clerk_id from public.organization_invitations i
    where exists (select 1 from clerk_sync.tombstones t
      where t.entity = 'organization' and t.clerk_id = i.organization_id)
    union all
    select clerk_id from public.organization_domains d
    where exists (select 1 from clerk_sync.tombstones t
      where t.entity = 'organization' and t.clerk_id = d.organization_id)`;
  assert.deepEqual([...orphans], []);
});

function createDisposable<T extends { close(): Promise<void> }>(store: T): T & AsyncDisposable {
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}
