/**
 * Faults between the function and PostgreSQL, on both transports (direct Postgres, and
 * supabase-js through the Data API: the real PostgREST behind the API gateway
 * stand-in), made with a TCP proxy in front of the database (tests/support/fault_proxy.ts):
 * for the Supabase transport it sits between PostgREST and PostgreSQL, where the
 * platform's network is. The function runs as its own process, as deployed, so that a
 * crash shows as a dead function rather than a failed test runner.
 *
 * - The link is cut partway through a burst of deliveries and restored: every answer is
 *   200 or 503, and once the 503s are redelivered, as Svix retries them, public.users is
 *   Clerk's final state with every svix-id in the ledger exactly once.
 * - The database hangs (a lock held for 12 s; a black-holed link that heals after the
 *   answer; a host that vanishes, its connections silent and new ones refused): the
 *   function answers 503 within 10 s, keeps running, and nothing it answered 503 for is
 *   committed afterwards.
 *
 * A cut cannot tell the function whether PostgreSQL committed a transaction whose answer
 * it cut off: such a delivery is answered 503 although committed ("in doubt"), and its
 * redelivery answers `duplicate`. The test counts them and checks that each had reached
 * PostgreSQL before the cut (its ledger entry is older than the cut).
 *
 * PostgREST, between the function and the proxy on the Supabase transport, answers 503
 * (PGRST000/PGRST001) while the database is away, or 400 with an empty error for a
 * pooled connection found dead (PostgREST/postgrest#4681), which the function answers
 * 503 too. It opens new connections on the next request once the link is back (only its
 * LISTEN connection waits out a backoff), so one redelivery round recovers, as on the
 * direct transport.
 *
 * `FAULT_EVENTS` sets the size of the burst (default 1,000); the stress run uses more.
 */
import assert from "node:assert/strict";
import pMap from "p-map";
import { shuffle } from "../dev/shuffle.ts";
import { deletedEvent, newClerkId, userEvent } from "../dev/clerk_events.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { type FaultProxy, startFaultProxy } from "./support/fault_proxy.ts";
import {
  onTransport,
  startFunctionOn,
  testOn,
  type Transport,
  TRANSPORTS,
} from "./support/transports.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";

const EVENTS = Number(Deno.env.get("FAULT_EVENTS") ?? 1000);
/** How long PostgreSQL may take to begin a statement whose bytes crossed the proxy before the cut. */
const IN_FLIGHT_MS = 100;
/** How long the burst's database outage lasts: longer than the function waits (8 s). */
const OUTAGE_MS = 10_000;
/** Deliveries in flight at once during the burst. */
const CONCURRENCY = 16;
/** The longest Svix waits for an answer is 15 s; the function must answer well before. */
const ANSWER_WITHIN_MS = 10_000;

/** The function on one transport, its database behind a fault proxy. */
interface Rig {
  transport: Transport;
  db: ScratchDatabase;
  proxy: FaultProxy;
  /** The function's URL. */
  url: string;
  secret: string;
  /** What the function process printed so far. */
  output(): string;
}

/** Runs `test` with a fresh rig on `transport`, closing everything afterwards. */
async function withRig(transport: Transport, test: (rig: Rig) => Promise<void>): Promise<void> {
  await using db = await scratchDatabase();
  const address = new URL(db.url);
  await using proxy = startFaultProxy({ hostname: address.hostname, port: Number(address.port) });
  const secret = newSecret();
  await using fn = await startFunctionOn(transport, proxy.via(db.url), secret);
  try {
    await test({ transport, db, proxy, url: fn.url, secret, output: fn.output });
  } finally {
    proxy.restore();
  }
}

/** One delivery: a Clerk event and the svix-id it keeps on every retry. */
interface Delivery {
  svixId: string;
  payload: Record<string, unknown>;
}

/** A row of public.users as Clerk's final state has it. */
interface UserRow {
  clerk_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  clerk_updated_at: Date;
}

/**
 * Clerk histories of `events / 4` users, four events each: created, renamed, a new
 * email, then either deleted (every fifth user) or renamed again.
 */
function histories(events: number): { deliveries: Delivery[]; expected: UserRow[] } {
  const deliveries: Delivery[] = [];
  const expected: UserRow[] = [];
  const start = Date.now() - 3_600_000;
  for (let index = 0; index < Math.ceil(events / 4); index++) {
    const id = newClerkId();
    const at = (step: number) => start + index + step * 1000;
    const states = [
      { email: `${id}.a@example.com`, firstName: "Ada", lastName: null, updatedAt: at(0) },
      { email: `${id}.a@example.com`, firstName: "Ada", lastName: "Byron", updatedAt: at(1) },
      { email: `${id}.b@example.com`, firstName: null, lastName: "Byron", updatedAt: at(2) },
      { email: `${id}.b@example.com`, firstName: null, lastName: "King", updatedAt: at(3) },
    ];
    const deleted = index % 5 === 0;
    states.forEach((state, step) => {
      const payload = step === 3 && deleted
        ? deletedEvent(id, state.updatedAt)
        : userEvent(step === 0 ? "user.created" : "user.updated", {
          id,
          ...state,
          createdAt: at(0),
        });
      deliveries.push({ svixId: newSvixId(), payload });
    });
    const last = states[3]!;
    if (!deleted) {
      expected.push({
        clerk_id: id,
        email: last.email,
        first_name: last.firstName,
        last_name: last.lastName,
        clerk_updated_at: new Date(last.updatedAt),
      });
    }
  }
  return { deliveries, expected: expected.sort((a, b) => a.clerk_id < b.clerk_id ? -1 : 1) };
}

/** What the function answered to one attempt. */
interface Answer {
  svixId: string;
  status: number;
  outcome: unknown;
}

/** Delivers `delivery` to the function of `rig`, which must be running to answer. */
async function send(rig: Rig, { svixId, payload }: Delivery): Promise<Answer> {
  let answer;
  try {
    answer = await deliver(rig.url, payload, { secret: rig.secret, id: svixId });
  } catch (error) {
    throw new Error(
      `${rig.transport}: the function stopped answering (${error}); it printed:\n${
        rig.output().slice(-2000)
      }`,
    );
  }
  return { svixId, status: answer.status, outcome: answer.body.outcome };
}

/** Delivers `deliveries` with `CONCURRENCY` in flight; `onAnswer` sees each answer. */
async function deliverAll(
  rig: Rig,
  deliveries: Delivery[],
  onAnswer: (answer: Answer, answered: number) => void = () => {},
): Promise<Answer[]> {
  let answered = 0;
  return await pMap(deliveries, async (delivery) => {
    const answer = await send(rig, delivery);
    onAnswer(answer, ++answered);
    return answer;
  }, { concurrency: CONCURRENCY });
}

async function ledger(db: ScratchDatabase, svixIds: string[]) {
  const rows = await db.sql<{ svix_id: string; received_at: Date }[]>`
    select svix_id, received_at from clerk_sync.deliveries where svix_id = any(${svixIds})`;
  return rows.map((row) => ({ ...row }));
}

async function usersTable(db: ScratchDatabase): Promise<UserRow[]> {
  const rows = await db.sql<UserRow[]>`
    select clerk_id, email, first_name, last_name, clerk_updated_at
    from public.users order by clerk_id`;
  return rows.map((row) => ({ ...row }));
}

/**
 * Registers the test `name`, which runs `fn` on a rig of each transport at once and fails
 * with the first failure. A transport that cannot run here gets an ignored test of its own.
 */
function testOnBothTransports(name: string, fn: (rig: Rig) => Promise<void>): void {
  const runnable = TRANSPORTS.filter((transport) => !onTransport(transport).ignore);
  for (const transport of TRANSPORTS.filter((transport) => !runnable.includes(transport))) {
    Deno.test({ name: `${name} (${transport})`, ignore: true, fn: () => {} });
  }
  const on = runnable.length === TRANSPORTS.length ? "" : ` (${runnable.join(", ")})`;
  Deno.test(`${name}${on}`, () => onTransports(runnable, fn));
}

/** Runs `fn` on a rig of each of `transports` at once; fails with the first failure. */
async function onTransports(
  transports: readonly Transport[],
  fn: (rig: Rig) => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled(
    transports.map((transport) => withRig(transport, fn)),
  );
  const failures = results.flatMap((result) =>
    result.status === "rejected" ? [describeFailure(result.reason)] : []
  );
  if (failures.length > 0) throw new Error(failures.join("\n\n"));
}

/** The message of a failure, with what a failed disposal hid under it. */
function describeFailure(error: unknown): string {
  if (error instanceof SuppressedError) {
    return `${describeFailure(error.suppressed)}\n(then, closing: ${describeFailure(error.error)})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`the function on ${transport} loses nothing and applies nothing twice when the database link is cut during a burst of ${EVENTS} events`, async () => {
    await withRig(transport, async (rig) => {
      const { deliveries, expected } = histories(EVENTS);
      const started = performance.now();
      // Once 30 % are answered, the database is unreachable for longer than the
      // function waits for it, so deliveries fail both ways: cut off, and timed out.
      let cutAt: Date | undefined;
      let restored: Promise<void> | undefined;
      const burst = await deliverAll(rig, shuffle([...deliveries]), (_, answered) => {
        if (answered !== Math.floor(deliveries.length * 0.3)) return;
        rig.proxy.cut();
        cutAt = new Date();
        restored = sleep(OUTAGE_MS).then(() => rig.proxy.restore());
      });
      await restored;
      assert.ok(cutAt, "the link was cut");

      assert.deepEqual(
        burst.filter(({ status }) => status !== 200 && status !== 503),
        [],
        "every answer is 200 or 503",
      );
      const failed = burst.filter(({ status }) => status === 503).map(({ svixId }) => svixId);
      assert.ok(failed.length > 0, "the cut made deliveries fail");
      // A 503 commits nothing, except a transaction that reached PostgreSQL before the
      // cut and whose answer the cut lost. Its received_at is when PostgreSQL began it,
      // which can trail the arrival of its bytes (already past the proxy) by a moment.
      const inDoubt = await ledger(rig.db, failed);
      for (const { svix_id, received_at } of inDoubt) {
        assert.ok(
          received_at.getTime() <= cutAt.getTime() + IN_FLIGHT_MS,
          `${svix_id} was answered 503 but committed at ${received_at.toISOString()}, after the cut at ${cutAt.toISOString()}`,
        );
      }

      // Svix retries every 503 with the same svix-id until it gets a 2xx.
      const retries: Answer[] = [];
      let pending = deliveries.filter(({ svixId }) => failed.includes(svixId));
      let rounds = 0;
      while (pending.length > 0 && rounds < 10) {
        rounds++;
        const answers = await deliverAll(rig, pending);
        retries.push(...answers);
        const ok = new Set(answers.filter(({ status }) => status === 200).map((a) => a.svixId));
        pending = pending.filter(({ svixId }) => !ok.has(svixId));
        if (pending.length > 0) await sleep(200);
      }
      assert.equal(pending.length, 0, "every failed delivery succeeds once redelivered");
      const elapsedMs = performance.now() - started;

      const duplicates = retries.filter(({ outcome }) => outcome === "duplicate");
      assert.deepEqual(
        duplicates.map(({ svixId }) => svixId).sort(),
        inDoubt.map(({ svix_id }) => svix_id).sort(),
        "exactly the deliveries committed before the cut answer duplicate when redelivered",
      );
      const done = [...burst, ...retries].filter(({ status, outcome }) =>
        status === 200 && outcome !== "duplicate"
      );
      assert.equal(
        done.length + inDoubt.length,
        deliveries.length,
        "every event is applied (or found stale) exactly once",
      );
      assert.equal(new Set(done.map(({ svixId }) => svixId)).size, done.length);

      const recorded = await ledger(rig.db, deliveries.map(({ svixId }) => svixId));
      assert.equal(recorded.length, deliveries.length, "every svix-id is in the ledger once");
      const [row] = await rig.db.sql`select count(*)::int as entries from clerk_sync.deliveries`;
      assert.equal(row?.entries, deliveries.length, "and nothing else is");
      assert.deepEqual(await usersTable(rig.db), expected, "public.users is Clerk's final state");

      console.log(
        `${transport}: ${deliveries.length} events, ${failed.length} answered 503 during a ${OUTAGE_MS} ms cut ` +
          `(${inDoubt.length} of them in doubt: committed before the cut), ${failed.length} recovered ` +
          `in ${rounds} redelivery round(s), 0 lost, 0 applied twice; ${
            Math.round(elapsedMs)
          } ms in all`,
      );
    });
  });
}

/** A user.created of a fresh user, now. */
function freshEvent(): Delivery {
  return {
    svixId: newSvixId(),
    payload: userEvent("user.created", {
      id: newClerkId(),
      email: null,
      firstName: "Ada",
      updatedAt: Date.now(),
    }),
  };
}

/** Delivers one event, timing the answer. */
async function timed(rig: Rig, delivery: Delivery): Promise<Answer & { ms: number }> {
  const started = performance.now();
  const answer = await send(rig, delivery);
  return { ...answer, ms: performance.now() - started };
}

/**
 * Checks, once the database is back and has had time to run whatever reached it late,
 * that none of `failed` was committed, and that redelivering them applies each once.
 */
async function assertNothingCommittedLater(rig: Rig, failed: Delivery[]): Promise<void> {
  const recovered = await timed(rig, freshEvent());
  assert.equal(recovered.status, 200, `${rig.transport}: the function works again`);
  await sleep(1000);
  assert.deepEqual(
    await ledger(rig.db, failed.map(({ svixId }) => svixId)),
    [],
    `${rig.transport}: nothing answered 503 was committed afterwards`,
  );
  for (const delivery of failed) {
    const { status, outcome } = await timed(rig, delivery);
    assert.deepEqual({ status, outcome }, { status: 200, outcome: "applied" }, rig.transport);
  }
}

testOnBothTransports(
  "the function answers 503 within 10 s on both transports to a users table locked for 12 s, and commits nothing later",
  async (rig) => {
    const { transport } = rig;
    assert.equal((await timed(rig, freshEvent())).status, 200, transport);
    const holder = await rig.db.sql.reserve();
    try {
      await holder`begin`;
      await holder`lock table public.users in access exclusive mode`;
      const holding = holder`select pg_sleep(12)`;
      const delivery = freshEvent();
      const answer = await timed(rig, delivery);
      await holding;
      await holder`commit`;
      assert.equal(answer.status, 503, transport);
      assert.ok(answer.ms < ANSWER_WITHIN_MS, `${transport}: answered in ${answer.ms} ms`);
      await assertNothingCommittedLater(rig, [delivery]);
      console.log(`${transport}: 503 in ${Math.round(answer.ms)} ms while the lock was held`);
    } finally {
      holder.release();
    }
  },
);

testOnBothTransports(
  "the function answers 503 within 10 s on both transports while the database link is black-holed, and commits nothing when it heals",
  async (rig) => {
    const { transport } = rig;
    assert.equal((await timed(rig, freshEvent())).status, 200, transport);
    rig.proxy.blackHole();
    const failed = Array.from({ length: 10 }, freshEvent);
    const answers = await Promise.all(failed.map((delivery) => timed(rig, delivery)));
    await sleep(500);
    rig.proxy.restore();
    assert.deepEqual(answers.map(({ status }) => status), failed.map(() => 503), transport);
    const slowest = Math.max(...answers.map(({ ms }) => ms));
    assert.ok(slowest < ANSWER_WITHIN_MS, `${transport}: answered in ${slowest} ms`);
    await assertNothingCommittedLater(rig, failed);
    console.log(
      `${transport}: ${failed.length} deliveries answered 503 in at most ${
        Math.round(slowest)
      } ms while the link was black-holed`,
    );
  },
);

testOnBothTransports(
  "the function answers 503 within 10 s on both transports when the database host vanishes mid-statement, keeps running, and commits nothing later",
  async (rig) => {
    const { transport } = rig;
    assert.equal((await timed(rig, freshEvent())).status, 200, transport);
    // Open connections go silent and new ones are refused, as when the host is gone.
    rig.proxy.blackHole({ refuseNew: true });
    const delivery = freshEvent();
    const answer = await timed(rig, delivery);
    await sleep(1000);
    rig.proxy.restore();
    assert.equal(answer.status, 503, transport);
    assert.ok(answer.ms < ANSWER_WITHIN_MS, `${transport}: answered in ${answer.ms} ms`);
    await assertNothingCommittedLater(rig, [delivery]);
    assert.doesNotMatch(rig.output(), /Uncaught|error: /, `${transport}: the function crashed`);
    console.log(`${transport}: 503 in ${Math.round(answer.ms)} ms after the host vanished`);
  },
);
