/**
 * `npm run test:pooler`: the direct transport behind a transaction-mode pooler, as
 * Supabase tells edge functions to connect (Supavisor, port 6543). Several function
 * processes (isolates, each with its own pool) share PgBouncer, which has fewer server
 * connections than they have clients, and deliveries arrive concurrently.
 *
 * It needs Debian's `pgbouncer` (CI installs it), so it is its own run, not part of
 * `npm test`. `POOLER_DELIVERIES` sets the number of distinct deliveries (default 1,200).
 */
import assert from "node:assert/strict";
import pMap from "p-map";
import postgres from "postgres";
import { newClerkId, userEvent } from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import {
  type FunctionProcess,
  HOSTED_DENO,
  LOCAL_DENO,
  startFunction,
} from "../dev/function_process.ts";
import { startPgBouncer } from "../dev/pgbouncer.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";

const DELIVERIES = Number(Deno.env.get("POOLER_DELIVERIES") ?? 1200);
/** Server connections PgBouncer keeps to the database: fewer than its clients. */
const SERVER_CONNECTIONS = 2;
/** Function processes sharing the pooler; one on the hosted runtime's Deno where npm has it. */
const RUNTIMES = [
  LOCAL_DENO,
  HOSTED_DENO.executable === undefined ? LOCAL_DENO : HOSTED_DENO,
  LOCAL_DENO,
];
/** Deliveries in flight at once, across the processes. */
const CONCURRENCY = 48;

Deno.test("PgBouncer in transaction mode runs one client's consecutive statements on different server connections (why named statements fail through it)", async () => {
  await using db = await scratchDatabase();
  await using pooler = await startPgBouncer({
    serverUrl: db.url,
    serverConnections: SERVER_CONNECTIONS,
  });
  const clients = RUNTIMES.map(() => postgres(pooler.via(db.url), { max: 1, onnotice: () => {} }));
  try {
    const backends = await Promise.all(clients.map(async (sql) => {
      const pids = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const [row] = await sql`select pg_backend_pid() as pid, pg_sleep(0.002)`;
        pids.add(row!.pid);
      }
      return pids.size;
    }));
    console.log(`server connections seen by each client: ${backends.join(", ")}`);
    assert.ok(backends.some((count) => count > 1), "is PgBouncer in transaction mode?");
  } finally {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
  }
});

Deno.test(`${DELIVERIES} concurrent deliveries from ${RUNTIMES.length} function processes sharing ${SERVER_CONNECTIONS} server connections through PgBouncer: every one 200, applied once`, async () => {
  await using db = await scratchDatabase();
  await using pooler = await startPgBouncer({
    serverUrl: db.url,
    serverConnections: SERVER_CONNECTIONS,
  });
  const secret = newSecret();
  const env = { CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: pooler.via(db.url) };
  const functions: FunctionProcess[] = [];
  try {
    for (const runtime of RUNTIMES) functions.push(await startFunction(env, { runtime }));

    const now = Date.now();
    const users = Array.from({ length: DELIVERIES }, (_, i) => ({
      id: newClerkId(),
      email: `pooled${i}@example.com`,
      updatedAt: now - 60_000 + i,
    }));
    const deliveries = users.map((user, i) => ({
      url: functions[i % functions.length]!.url,
      id: newSvixId(),
      payload: userEvent("user.created", user),
    }));
    // A tenth of them delivered again at once, to other processes: duplicates under load.
    const again = deliveries.filter((_, i) => i % 10 === 0).map((delivery, i) => ({
      ...delivery,
      url: functions[(i + 1) % functions.length]!.url,
    }));

    const started = performance.now();
    const answers = await pMap([...deliveries, ...again], async (d) => {
      const { status, body } = await deliver(d.url, d.payload, { secret, id: d.id });
      return status === 200 ? String(body.outcome) : `HTTP ${status}: ${JSON.stringify(body)}`;
    }, { concurrency: CONCURRENCY });
    const seconds = (performance.now() - started) / 1000;
    const counts: Record<string, number> = {};
    for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
    console.log(
      `through PgBouncer (transaction mode, ${SERVER_CONNECTIONS} server connections), ` +
        `${functions.length} processes (${RUNTIMES.map((r) => r.name).join(", ")}): ` +
        `${answers.length} deliveries in ${seconds.toFixed(1)} s ` +
        `(${Math.round(answers.length / seconds)}/s), answers ${JSON.stringify(counts)}`,
    );

    assert.deepEqual(counts, { applied: DELIVERIES, duplicate: again.length });
    const [row] = await db.sql`select count(*)::int as users from public.users`;
    assert.equal(row!.users, DELIVERIES);
    for (const fn of functions) assert.doesNotMatch(fn.output(), /"status":5\d\d/);
  } finally {
    for (const fn of functions) await fn[Symbol.asyncDispose]();
  }
});
