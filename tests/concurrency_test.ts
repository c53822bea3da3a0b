/**
 * Concurrency: many deliveries in flight at once, over HTTP through the real handler and
 * both transports (the direct pool, and supabase-js through the PostgREST stand-in),
 * into one scratch database. Each delivery is answered 200 (a deadlock or lock time-out
 * would be a 503), applied exactly once, and the rows end as the newest state.
 */
import assert from "node:assert/strict";
import { newClerkId, userEvent, type UserState } from "../dev/clerk_events.ts";
import { Random } from "./support/clerk_history.ts";
import { scratchDatabase } from "../dev/database.ts";
import {
  openTransport,
  serveHandler,
  testOn,
  type Transport,
  TRANSPORTS,
} from "./support/transports.ts";
import { deliver, newSecret, newSvixId, svixHeaders } from "../dev/webhooks.ts";

// Module-wide fixtures: the runner drops the database; the process ends with the pool.
const db = await scratchDatabase();
const secret = newSecret();
const random = new Random(20261127);
const T = Date.now() - 3_600_000;

/** The handler writing through `transport`, served over HTTP. */
async function serveTransport(transport: Transport): Promise<{ url: string } & AsyncDisposable> {
  const store = await openTransport(transport, db.url);
  const server = serveHandler(store, secret);
  return {
    url: server.url,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await store[Symbol.asyncDispose]();
    },
  };
}

/** How many deliveries gave each answer: the outcome for a 200, else `HTTP <status>`. */
function tally(answers: { status: number; body: Record<string, unknown> }[]) {
  const counts: Record<string, number> = {};
  for (const { status, body } of answers) {
    const key = status === 200 ? String(body.outcome) : `HTTP ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function rowOf(clerkId: string) {
  return db.sql`
    select clerk_id, email, first_name, clerk_updated_at, svix_id
    from public.users where clerk_id = ${clerkId}`.then((rows) => [...rows]);
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`100 concurrent deliveries of one svix-id: 1 applied, 99 duplicate, one effect (${transport})`, async () => {
    await using server = await serveTransport(transport);
    const id = newClerkId();
    const svixId = newSvixId();
    const body = JSON.stringify(
      userEvent("user.created", { id, email: `${id}@example.com`, firstName: "Ada", updatedAt: T }),
    );
    const headers = svixHeaders(body, { secret, id: svixId });
    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await fetch(server.url, { method: "POST", headers, body });
        return { status: response.status, body: await response.json() };
      }),
    );
    console.log(`same svix-id ×100 (${transport}): ${JSON.stringify(tally(answers))}`);
    assert.deepEqual(tally(answers), { applied: 1, duplicate: 99 });
    assert.deepEqual(await rowOf(id), [{
      clerk_id: id,
      email: `${id}@example.com`,
      first_name: "Ada",
      clerk_updated_at: new Date(T),
      svix_id: svixId,
    }]);
    const ledger = await db.sql`
      select outcome from clerk_sync.deliveries where svix_id = ${svixId}`;
    assert.deepEqual([...ledger], [{ outcome: "applied" }]);
  });

  test(`100 concurrent distinct events of one user, shuffled: the newest state wins, no 5xx (${transport})`, async () => {
    await using server = await serveTransport(transport);
    const id = newClerkId();
    const events = Array.from({ length: 100 }, (_, i) => {
      const state: UserState = {
        id,
        // Each event takes another address's lock; every tenth has no address.
        email: i % 10 === 9 ? null : `${id}.${i}@example.com`,
        firstName: `Version ${i}`,
        createdAt: T,
        updatedAt: T + i * 10,
      };
      return {
        svixId: newSvixId(),
        state,
        payload: userEvent(i === 0 ? "user.created" : "user.updated", state),
      };
    });
    const answers = await Promise.all(
      random.shuffle([...events]).map(({ payload, svixId }) =>
        deliver(server.url, payload, { secret, id: svixId })
      ),
    );
    const counts = tally(answers);
    console.log(`one user ×100 events (${transport}): ${JSON.stringify(counts)}`);
    assert.deepEqual(Object.keys(counts).filter((key) => key !== "applied" && key !== "stale"), []);
    const newest = events.at(-1)!;
    assert.deepEqual(await rowOf(id), [{
      clerk_id: id,
      email: newest.state.email,
      first_name: "Version 99",
      clerk_updated_at: new Date(newest.state.updatedAt),
      svix_id: newest.svixId,
    }]);
    const [ledger] = await db.sql`
      select count(*)::int as entries from clerk_sync.deliveries
      where svix_id = any(${events.map((event) => event.svixId)})`;
    assert.equal(ledger?.entries, 100);
  });

  test(`email swaps and moves between two users, delivered all at once 40 times: no 5xx, Clerk's end state (${transport})`, async () => {
    await using server = await serveTransport(transport);
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 8; batch++) {
      await Promise.all(Array.from({ length: 5 }, async () => {
        const a = newClerkId();
        const b = newClerkId();
        const [first, second, spare] = ["first", "second", "spare"].map((name) =>
          `${name}.${a}@example.com`
        );
        const state = (id: string, email: string | null, at: number): UserState => ({
          id,
          email,
          createdAt: T,
          updatedAt: T + at,
        });
        // Clerk's order: a and b swap their addresses in three steps (so that no address is
        // ever held twice), then b lets `first` go and a takes it back.
        const story = [
          userEvent("user.created", state(a, first!, 0)),
          userEvent("user.created", state(b, second!, 1)),
          userEvent("user.updated", state(a, spare!, 2)),
          userEvent("user.updated", state(b, first!, 3)),
          userEvent("user.updated", state(a, second!, 4)),
          userEvent("user.updated", state(b, null, 5)),
          userEvent("user.updated", state(a, first!, 6)),
          userEvent("user.updated", state(b, second!, 7)),
        ].map((payload) => ({ payload, svixId: newSvixId() }));
        // Every event twice, all sixteen deliveries in flight at once.
        const answers = await Promise.all(
          random.shuffle([...story, ...story]).map(({ payload, svixId }) =>
            deliver(server.url, payload, { secret, id: svixId })
          ),
        );
        for (const [key, count] of Object.entries(tally(answers))) {
          counts[key] = (counts[key] ?? 0) + count;
        }
        // A deadlock or a lock wait over lock_timeout would be answered 503.
        assert.deepEqual(answers.filter(({ status }) => status !== 200), []);
        const rows = await db.sql`
          select clerk_id, email from public.users where clerk_id in (${a}, ${b}) order by clerk_id = ${b}`;
        assert.deepEqual([...rows], [{ clerk_id: a, email: first }, {
          clerk_id: b,
          email: second,
        }]);
      }));
    }
    console.log(`email swaps ×40, 640 deliveries (${transport}): ${JSON.stringify(counts)}`);
    assert.deepEqual(
      Object.keys(counts).filter((key) => !["applied", "stale", "duplicate"].includes(key)),
      [],
    );
    assert.equal(counts.duplicate, 320);
  });
}
