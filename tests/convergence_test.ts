/**
 * Convergence: whatever the delivery (any order, duplicates, some of them concurrent,
 * attempts that fail and are retried later), the synced tables (users, organizations,
 * memberships, invitations, roles, permissions, domains, billing and the waitlist) end
 * equal to Clerk's final state. Seeded Clerk histories (support/clerk_history.ts) go through the real handler
 * over HTTP and a real transport into one scratch database.
 *
 * `CONVERGENCE_HISTORIES` (default 70) sets how many histories run and
 * `CONVERGENCE_SEED` (default 1) the first seed. A seed with `seed % 7 >= 5` goes
 * through the Supabase transport (supabase-js and the PostgREST stand-in), any other
 * through the direct one. A failure prints the seed and the shortest delivery order
 * found that still fails.
 */
import assert from "node:assert/strict";
import { userEvent, type UserState } from "../dev/clerk_events.ts";
import {
  type ClerkHistory,
  type ClerkState,
  ERASED,
  generateHistory,
  type HistoryEvent,
  Random,
  stateAfter,
  type SyncedUser,
} from "./support/clerk_history.ts";
import { scratchDatabase } from "../dev/database.ts";
import { shrink } from "./support/shrink.ts";
import {
  onTransport,
  openTransport,
  serveHandler,
  testOn,
  type Transport,
  TRANSPORTS,
  unreachableStore,
} from "./support/transports.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";

const HISTORIES = Number(Deno.env.get("CONVERGENCE_HISTORIES") ?? 70);
const FIRST_SEED = Number(Deno.env.get("CONVERGENCE_SEED") ?? 1);
/** Histories delivered at the same time (each one also sends up to 4 deliveries at once). */
const PARALLEL_HISTORIES = 6;
/** Share of events whose first attempt fails (503) and is retried later. */
const RETRY_RATE = 0.15;
/** Share of events delivered more than once; half of the extra deliveries are concurrent. */
const DUPLICATE_RATE = 0.2;
/** Failures reported with a shrunk delivery order (each shrink replays up to 300 times). */
const SHRUNK_FAILURES = 2;

/** Clerk's updated_at shared by the states of the tie-break test. */
const TIE_AT = Date.UTC(2025, 5, 1);

// Module-wide fixtures: the runner drops the database; the process ends with the pool.
const db = await scratchDatabase();
const secret = newSecret();
// An app's table referencing the users table (no action on delete), with a row for every
// held user (id ending in _held) as soon as its row exists.
await db.sql.unsafe(`
  create table public.app_posts (author uuid not null references public.users (id));
  create function public.app_hold() returns trigger language plpgsql set search_path = '' as $$
  begin
    if new.clerk_id like '%\\_held' then
      insert into public.app_posts (author) values (new.id);
    end if;
    return new;
  end $$;
  create trigger app_hold after insert on public.users
  for each row execute function public.app_hold();`);

/** The handler on two ports: `up` writes through `transport`, `down` to a closed port (503). */
interface Endpoints extends AsyncDisposable {
  up: string;
  down: string;
}

async function serveTransport(transport: Transport): Promise<Endpoints> {
  const working = await openTransport(transport, db.url);
  const closed = unreachableStore(transport);
  const up = serveHandler(working, secret);
  const down = serveHandler(closed, secret);
  return {
    up: up.url,
    down: down.url,
    async [Symbol.asyncDispose]() {
      await up[Symbol.asyncDispose]();
      await down[Symbol.asyncDispose]();
      await working[Symbol.asyncDispose]();
      await closed.close();
    },
  };
}

/** One HTTP delivery of an event; attempts of one `step` are sent at the same time. */
interface Attempt {
  event: number;
  step: number;
  /** Sent to the handler whose database is down: answered 503, retried later. */
  fails: boolean;
}

/** What a delivery answered. */
interface Answer {
  attempt: Attempt;
  status: number;
  outcome: unknown;
}

/**
 * A random delivery of `history`: every event succeeds once in a random order; some
 * fail first and succeed later, some are delivered again, at the same moment as the
 * original or at another; neighbours are grouped into steps of 1 to 4 sent at once.
 */
function planDeliveries(history: ClerkHistory, random: Random): Attempt[] {
  const timed: { event: number; time: number; fails: boolean }[] = [];
  for (const { index: event } of history.events) {
    const time = random.next();
    timed.push({ event, time, fails: false });
    if (random.chance(RETRY_RATE)) {
      const failures = random.chance(0.3) ? 2 : 1;
      for (let i = 0; i < failures; i++) {
        timed.push({ event, time: time * random.next(), fails: true });
      }
    }
    if (random.chance(DUPLICATE_RATE)) {
      const extra = 1 + random.int(2);
      for (let i = 0; i < extra; i++) {
        timed.push({ event, time: random.chance(0.5) ? time : random.next(), fails: false });
      }
    }
  }
  timed.sort((a, b) => a.time - b.time);
  const attempts: Attempt[] = [];
  let step = -1;
  let room = 0;
  let previous = NaN;
  for (const { event, time, fails } of timed) {
    if (time !== previous) {
      if (room > 0) {
        room--;
      } else {
        step++;
        room = random.int(4);
      }
    }
    previous = time;
    attempts.push({ event, step, fails });
  }
  return attempts;
}

/** Sends `attempts` step by step, the attempts of a step concurrently. */
async function send(
  endpoints: Endpoints,
  history: ClerkHistory,
  attempts: readonly Attempt[],
): Promise<Answer[]> {
  const bodies = history.events.map((event) => JSON.stringify(event.payload));
  const steps = Map.groupBy(attempts, (attempt) => attempt.step);
  const answers: Answer[] = [];
  for (const step of [...steps.keys()].sort((a, b) => a - b)) {
    answers.push(
      ...await Promise.all(steps.get(step)!.map(async (attempt) => {
        const { status, body } = await deliver(
          attempt.fails ? endpoints.down : endpoints.up,
          bodies[attempt.event]!,
          { secret, id: history.events[attempt.event]!.svixId },
        );
        return { attempt, status, outcome: body.outcome };
      })),
    );
  }
  return answers;
}

/** The rows of `history`'s synced objects, as ClerkState has them. */
async function readState(history: ClerkHistory): Promise<ClerkState> {
  const others = (columns: string, table: string, prefix: string) =>
    db.sql.unsafe(
      `select clerk_id, ${columns}, clerk_updated_at from public.${table}
      where starts_with(clerk_id, $1) order by clerk_id collate "C"`,
      [`${prefix}_${history.tag}_`],
    ).then((rows) => [...rows] as unknown as ClerkState["invitations"]);
  const [users, organizations, memberships, invitations, roles, permissions, domains, billing] =
    await Promise
      .all([
        readUsers(history.clerkIdPrefix),
        db.sql`select clerk_id, name, slug, clerk_updated_at from public.organizations
      where starts_with(clerk_id, ${`org_${history.tag}_`}) order by clerk_id collate "C"`,
        db.sql`select clerk_id, organization_id, user_id, role, clerk_updated_at
      from public.organization_memberships
      where starts_with(clerk_id, ${`orgmem_${history.tag}_`}) order by clerk_id collate "C"`,
        others("organization_id, status, user_id", "organization_invitations", "orginv"),
        others("key, permissions", "organization_roles", "role"),
        others("key, name", "organization_permissions", "perm"),
        others(
          "organization_id, enrollment_mode, verification_status",
          "organization_domains",
          "orgdmn",
        ),
        db.sql`select clerk_id, status, clerk_updated_at from (
          select clerk_id, status, clerk_updated_at from public.billing_subscriptions
          union all
          select clerk_id, status, clerk_updated_at from public.billing_subscription_items
          union all
          select clerk_id, status, clerk_updated_at from public.billing_payment_attempts
          union all
          select clerk_id, status, clerk_updated_at from public.waitlist_entries
        ) b
        where starts_with(clerk_id, ${`csub_${history.tag}_`})
          or starts_with(clerk_id, ${`csub_item_${history.tag}_`})
          or starts_with(clerk_id, ${`pa_${history.tag}_`})
          or starts_with(clerk_id, ${`wle_${history.tag}_`})
        order by clerk_id collate "C"`,
      ]);
  return {
    users,
    organizations: [...organizations] as unknown as ClerkState["organizations"],
    memberships: [...memberships] as unknown as ClerkState["memberships"],
    invitations,
    roles,
    permissions,
    domains,
    billing: [...billing] as unknown as ClerkState["billing"],
  };
}

function readUsers(prefix: string): Promise<SyncedUser[]> {
  return db.sql<SyncedUser[]>`
    select clerk_id, email, first_name, last_name, image_url, username, phone_number,
      public_metadata, banned, deleted_at is not null as deleted, clerk_created_at,
      clerk_updated_at
    from public.users
    where starts_with(clerk_id, ${prefix})
    order by clerk_id collate "C"`.then((rows) => [...rows]);
}

/**
 * What is wrong after `answers`: a status other than 200 (503 from the down handler),
 * an event applied other than exactly once, rows other than `expected`.
 */
async function problems(
  history: ClerkHistory,
  answers: readonly Answer[],
  expected: ClerkState,
): Promise<string[]> {
  const found: string[] = [];
  const processed = new Map<number, number>();
  for (const { attempt, status, outcome } of answers) {
    const wanted = attempt.fails ? 503 : 200;
    if (status !== wanted) {
      found.push(`e${attempt.event} answered ${status} instead of ${wanted}: ${outcome}`);
    }
    if (!attempt.fails) {
      const times = processed.get(attempt.event) ?? 0;
      processed.set(attempt.event, times + (outcome === "duplicate" ? 0 : 1));
    }
  }
  for (const [event, times] of processed) {
    if (times !== 1) found.push(`e${event} was processed ${times} times instead of once`);
  }
  const actual = await readState(history);
  const byId = (state: ClerkState) =>
    new Map(
      [
        ...state.users,
        ...state.organizations,
        ...state.memberships,
        ...state.invitations,
        ...state.roles,
        ...state.permissions,
        ...state.domains,
        ...state.billing,
      ].map((row) => [
        row.clerk_id,
        JSON.stringify(row),
      ]),
    );
  const [want, got] = [byId(expected), byId(actual)];
  for (const id of new Set([...want.keys(), ...got.keys()])) {
    const expectedUser = expected.users.find((row) => row.clerk_id === id);
    if (erasedOrAbsent(expectedUser, actual.users, id)) continue;
    if (want.get(id) !== got.get(id)) {
      found.push(
        `${id}:\n      expected ${want.get(id) ?? "no row"}\n      actual   ${
          got.get(id) ?? "no row"
        }`,
      );
    }
  }
  return found;
}

/**
 * A user deleted in Clerk whose row an app's foreign key held: whether the row is gone
 * (its delete came before any create) or kept with every personal field erased. Which
 * version and ban state the kept row shows depends on the delivery order.
 */
function erasedOrAbsent(
  expected: SyncedUser | undefined,
  actual: readonly SyncedUser[],
  id: string,
): boolean {
  if (!expected?.deleted) return false;
  const row = actual.find((row) => row.clerk_id === id);
  if (row === undefined) return true;
  const personal = Object.keys(ERASED) as (keyof typeof ERASED)[];
  return JSON.stringify(personal.map((key) => row[key])) ===
    JSON.stringify(personal.map((key) => ERASED[key]));
}

/** Empties the synced tables; used only once every history of a test has been checked. */
async function truncate(): Promise<void> {
  await db.sql`truncate public.users, public.users_private, public.app_posts,
    public.organizations, public.organizations_private, public.organization_memberships,
    public.organization_memberships_private, public.organization_invitations,
    public.organization_invitations_private, public.organization_roles,
    public.organization_permissions, public.organization_domains, public.billing_subscriptions,
    public.billing_subscription_items, public.billing_payment_attempts, public.waitlist_entries,
    clerk_sync.deliveries, clerk_sync.tombstones`;
}

/**
 * Replays `attempts` on emptied tables and returns what is wrong then, compared with
 * Clerk's state after the events they deliver. Events left out must leave a history
 * Clerk could have had (no address held twice at once); otherwise nothing counts as wrong.
 */
async function replay(
  endpoints: Endpoints,
  history: ClerkHistory,
  attempts: Attempt[],
): Promise<string[]> {
  const delivered = new Set(attempts.filter((attempt) => !attempt.fails).map((a) => a.event));
  let expected: ClerkState;
  try {
    expected = stateAfter(history.events.filter((event) => delivered.has(event.index)));
  } catch (error) {
    if (error instanceof RangeError) return [];
    throw error;
  }
  await truncate();
  return problems(history, await send(endpoints, history, attempts), expected);
}

function describeEvent(event: HistoryEvent, start: number): string {
  const data = event.payload.data as { updated_at?: number };
  const time = (data.updated_at ?? event.payload.timestamp as number) - start;
  return `e${event.index} ${event.type} ${event.user} @+${time} ms (${event.change})`;
}

/** The report of a failing history, with the shortest failing delivery order found. */
async function report(
  transport: Transport,
  endpoints: Endpoints,
  history: ClerkHistory,
  attempts: Attempt[],
  found: string[],
): Promise<string> {
  const start = history.events[0]!.payload.timestamp as number;
  const header = [
    `Seed ${history.seed} (${transport} transport) did not converge:`,
    ...found.map((problem) => `  - ${problem}`),
  ];
  if ((await replay(endpoints, history, attempts)).length === 0) {
    return [...header, "It converged when replayed alone: the failure depends on timing."]
      .join("\n");
  }
  let shrunkProblems = found;
  const shrunk = await shrink(attempts, async (candidate) => {
    const problems = await replay(endpoints, history, candidate);
    if (problems.length > 0) shrunkProblems = problems;
    return problems.length > 0;
  }, 300);
  const steps = Map.groupBy(shrunk.items, (attempt) => attempt.step);
  const order = [...steps.values()].map((step, i) =>
    `  ${i + 1}. ${
      step.map((a) =>
        `${describeEvent(history.events[a.event]!, start)}${a.fails ? " → 503, database down" : ""}`
      ).join("\n     + at the same time: ")
    }`
  );
  return [
    ...header,
    `Shortest failing delivery order found (${shrunk.items.length} of ${attempts.length} ` +
    `deliveries, ${shrunk.runs} replays; events numbered in Clerk's order):`,
    ...order,
    "which ends with:",
    ...shrunkProblems.map((problem) => `  - ${problem}`),
    `Replay: CONVERGENCE_SEED=${history.seed} CONVERGENCE_HISTORIES=1 ` +
    `npm test -- tests/convergence_test.ts`,
  ].join("\n");
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function seedsOf(transport: Transport): number[] {
  const seeds = Array.from({ length: HISTORIES }, (_, i) => FIRST_SEED + i);
  return seeds.filter((seed) => (seed % 7 >= 5) === (transport === "supabase"));
}

for (const transport of TRANSPORTS) {
  const seeds = seedsOf(transport);
  Deno.test({
    name: `the synced tables converge to Clerk's final state: ${seeds.length} histories ` +
      `through the ${transport} transport, reordered, duplicated and retried`,
    // CONVERGENCE_HISTORIES=1 to replay one seed leaves one transport without any.
    ignore: seeds.length === 0 || onTransport(transport).ignore,
    async fn() {
      await using endpoints = await serveTransport(transport);
      const figures = {
        events: 0,
        deliveries: 0,
        duplicates: 0,
        concurrentDuplicates: 0,
        failed: 0,
        /** Rows of deleted users that an app's foreign key kept, erased. */
        kept: 0,
        outcomes: {} as Record<string, number>,
      };
      const failures: { history: ClerkHistory; attempts: Attempt[]; found: string[] }[] = [];
      const started = performance.now();
      await inParallel(seeds, PARALLEL_HISTORIES, async (seed) => {
        const history = generateHistory(seed);
        const attempts = planDeliveries(history, new Random(seed ^ 0x5bd1e995));
        const answers = await send(endpoints, history, attempts);
        const found = await problems(history, answers, history.final);
        if (found.length > 0) failures.push({ history, attempts, found });
        const [kept] = await db.sql`select count(*)::int as count from public.users
          where starts_with(clerk_id, ${history.clerkIdPrefix}) and deleted_at is not null`;
        figures.kept += kept?.count ?? 0;

        figures.events += history.events.length;
        figures.deliveries += attempts.length;
        figures.failed += attempts.filter((a) => a.fails).length;
        const successes = Map.groupBy(attempts.filter((a) => !a.fails), (a) => a.event);
        for (const tries of successes.values()) {
          figures.duplicates += tries.length - 1;
          figures.concurrentDuplicates += tries.length - new Set(tries.map((a) => a.step)).size;
        }
        for (const { outcome, status } of answers) {
          const key = status === 200 ? String(outcome) : `HTTP ${status}`;
          figures.outcomes[key] = (figures.outcomes[key] ?? 0) + 1;
        }
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `convergence (${transport}): ${seeds.length} histories (seeds ${seeds[0]}…${
          seeds.at(-1)
        }), ` +
          `${figures.events} events, ${figures.deliveries} deliveries: ` +
          `${figures.duplicates} duplicates (${figures.concurrentDuplicates} concurrent), ` +
          `${figures.failed} failed with 503 and retried later; ` +
          `${figures.kept} deleted users' rows kept erased for an app's reference; answers ${
            JSON.stringify(figures.outcomes)
          }; ${failures.length} failed histories; ${seconds.toFixed(1)} s ` +
          `(${Math.round(figures.deliveries / seconds)} deliveries/s)`,
      );

      const reports: string[] = [];
      failures.sort((a, b) => a.history.seed - b.history.seed);
      for (const { history, attempts, found } of failures.slice(0, SHRUNK_FAILURES)) {
        reports.push(await report(transport, endpoints, history, attempts, found));
      }
      const others = failures.slice(SHRUNK_FAILURES).map((failure) => failure.history.seed);
      if (others.length > 0) reports.push(`Other failing seeds: ${others.join(", ")}`);
      assert.equal(failures.length, 0, reports.join("\n\n"));
      if (seeds.length >= 10) assert.ok(figures.kept > 0, "some deletes were held by the app");
    },
  });
}

/**
 * The tie-break: of two states of one user with equal Clerk `updated_at`, the one with
 * the later envelope timestamp wins; with equal timestamps too, the greater svix-id in
 * byte order. Each case lists its two deliveries, the second the winner, and the rows
 * they leave; `RUN` stands for the run's own ids.
 */
const TIES: Record<string, { deliveries: [UserState, number, string][]; rows: unknown[] }> = {
  "the later envelope timestamp wins over the greater svix-id": {
    deliveries: [
      [
        { id: "user_RUN", email: null, firstName: "Earlier", updatedAt: TIE_AT },
        TIE_AT + 1,
        "msg_z",
      ],
      [{ id: "user_RUN", email: null, firstName: "Later", updatedAt: TIE_AT }, TIE_AT + 5, "msg_a"],
    ],
    rows: [{ clerk_id: "user_RUN", email: null, first_name: "Later", svix_id: "msg_a_RUN" }],
  },
  "with equal envelope timestamps, the greater svix-id in byte order wins": {
    deliveries: [
      [{ id: "user_RUN", email: null, firstName: "Upper", updatedAt: TIE_AT }, TIE_AT, "msg_B"],
      [{ id: "user_RUN", email: null, firstName: "Lower", updatedAt: TIE_AT }, TIE_AT, "msg_a"],
    ],
    rows: [{ clerk_id: "user_RUN", email: null, first_name: "Lower", svix_id: "msg_a_RUN" }],
  },
  "an address claimed by two users at the same instant goes to the greater svix-id": {
    deliveries: [
      [{ id: "user_RUN_x", email: "RUN@example.com", updatedAt: TIE_AT }, TIE_AT, "msg_x"],
      [{ id: "user_RUN_y", email: "RUN@example.com", updatedAt: TIE_AT }, TIE_AT, "msg_y"],
    ],
    rows: [
      { clerk_id: "user_RUN_x", email: null, first_name: null, svix_id: "msg_x_RUN" },
      { clerk_id: "user_RUN_y", email: "RUN@example.com", first_name: null, svix_id: "msg_y_RUN" },
    ],
  },
};

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`a tie in Clerk's updated_at goes to the later envelope timestamp, then the greater svix-id, in any delivery order (${transport})`, async () => {
    await using endpoints = await serveTransport(transport);
    const orders = ["in order", "reversed", "at once"] as const;
    for (const [name, { deliveries, rows }] of Object.entries(TIES)) {
      const results: Record<string, unknown> = {};
      for (const order of orders) {
        const run = `tie${transport[0]}${Object.keys(TIES).indexOf(name)}${orders.indexOf(order)}`;
        const posts = deliveries.map(([state, timestamp, svixId]) => () => {
          const event = JSON.stringify(userEvent("user.created", state, timestamp));
          return deliver(endpoints.up, event.replaceAll("RUN", run), {
            secret,
            id: `${svixId}_${run}`,
          });
        });
        const answers = order === "at once" ? await Promise.all(posts.map((post) => post())) : [
          await posts.at(order === "in order" ? 0 : 1)!(),
          await posts.at(order === "in order" ? 1 : 0)!(),
        ];
        assert.deepEqual(answers.map((answer) => answer.status), [200, 200], `${name}, ${order}`);
        const stored = await db.sql`
          select clerk_id, email, first_name, svix_id from public.users
          where starts_with(clerk_id, ${`user_${run}`}) order by clerk_id`;
        results[order] = JSON.parse(JSON.stringify([...stored]).replaceAll(run, "RUN"));
      }
      assert.deepEqual(results, Object.fromEntries(orders.map((order) => [order, rows])), name);
    }
  });
}

Deno.test("generateHistory() is reproducible and covers every kind of change the run needs", () => {
  const seen: Record<string, number> = {};
  const see = (kind: string) => seen[kind] = (seen[kind] ?? 0) + 1;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + Math.max(HISTORIES, 70); seed++) {
    const history = generateHistory(seed);
    assert.deepEqual(generateHistory(seed), history);
    const deleted = new Set<string>();
    const heldBy = new Map<string, string>();
    const slugs = new Map<string, string>();
    for (const event of history.events) {
      see(event.type);
      if (event.change.startsWith("swap")) see("swap step");
      if (event.change === "primary switched to another address") see(event.change);
      if (event.state !== null && event.state.first_name === null) see("null first name");
      for (
        const kind of [
          "username cleared",
          "phone switched",
          "public metadata changed",
          "member re-added",
          "role changed",
          "slug and name changed",
          "removed with its organization",
          "removed with its user",
          "organization deleted",
          "invitation accepted",
          "invitation revoked",
          "domain removed with its organization",
          "role deleted",
          "permission deleted",
          "domain deleted",
          "item changed inside its subscription",
          "item added inside its subscription",
          "item changed alone",
        ]
      ) {
        if (event.change === kind) see(kind);
      }
      if (event.change === "organization deleted, with invitations") {
        see("organization deleted");
        see(event.change);
      }
      if (event.type === "user.deleted" && event.held) see("held user deleted");
      const slug = event.organization?.slug;
      if (slug && slugs.has(slug) && slugs.get(slug) !== event.clerkId) {
        see("slug of another organization taken");
      }
      if (slug) slugs.set(slug, event.clerkId);
      const email = event.state?.email;
      if (email && heldBy.has(email) && heldBy.get(email) !== event.clerkId) {
        see(deleted.has(heldBy.get(email)!) ? "address of a deleted user taken" : "address moved");
      }
      if (email) heldBy.set(email, event.clerkId);
      if (event.type === "user.deleted") deleted.add(event.clerkId);
    }
  }
  const kinds = [
    "user.created",
    "user.updated",
    "user.deleted",
    "swap step",
    "primary switched to another address",
    "null first name",
    "address moved",
    "address of a deleted user taken",
    "username cleared",
    "phone switched",
    "public metadata changed",
    "held user deleted",
    "member re-added",
    "role changed",
    "slug and name changed",
    "removed with its organization",
    "removed with its user",
    "organization deleted",
    "organizationMembership.deleted",
    "slug of another organization taken",
    "organizationInvitation.created",
    "organizationInvitation.accepted",
    "organizationInvitation.revoked",
    "organization deleted, with invitations",
    "role.created",
    "role.updated",
    "role.deleted",
    "permission.created",
    "permission.updated",
    "permission.deleted",
    "organizationDomain.created",
    "organizationDomain.updated",
    "organizationDomain.deleted",
    "domain removed with its organization",
    "item changed inside its subscription",
    "item added inside its subscription",
    "item changed alone",
    "subscription.created",
    "subscription.updated",
    "subscription.active",
    "subscription.pastDue",
    "subscriptionItem.created",
    "subscriptionItem.canceled",
    "subscriptionItem.freeTrialEnding",
    "paymentAttempt.updated",
    "waitlistEntry.updated",
  ];
  assert.deepEqual(kinds.filter((kind) => !seen[kind]), [], JSON.stringify(seen));
});

Deno.test("shrink() keeps a failing sublist from which no single item can be removed", async () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const fails = (list: number[]) => Promise.resolve([13, 40, 71].every((i) => list.includes(i)));
  const { items: shrunk, runs } = await shrink(items, fails);
  assert.deepEqual(shrunk, [13, 40, 71]);
  assert.ok(runs < 100, `${runs} runs`);
});
