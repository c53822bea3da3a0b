/**
 * End-to-end scenarios, signed deliveries over HTTP into the database, through both
 * transports: the direct PostgreSQL pool, and supabase-js against the PostgREST
 * stand-in. Both must give the same answers and leave the same rows.
 */
import assert from "node:assert/strict";
import { deletedEvent, userEvent, type UserState } from "../dev/clerk_events.ts";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import {
  openTransport,
  serveHandler,
  testOn,
  type Transport,
  TRANSPORTS,
} from "./support/transports.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";

const secret = newSecret();
const T = Date.UTC(2026, 0, 1);

/** One delivery of a scenario: an event, and the svix-id it travels with. */
type Step = [event: Record<string, unknown>, svixId: string];
const step = (event: Record<string, unknown>, svixId = newSvixId()): Step => [event, svixId];
const user = (state: Partial<UserState> & { id: string; updatedAt: number }): UserState => ({
  email: `${state.id}@example.com`,
  firstName: "Ada",
  lastName: "Lovelace",
  ...state,
});

/** Each scenario: the deliveries in the order they arrive. Ids are fixed so both runs compare. */
function scenarios(): Record<string, Step[]> {
  const redelivered = newSvixId();
  return {
    "created, updated, deleted": [
      step(userEvent("user.created", user({ id: "user_a", updatedAt: T }))),
      step(
        userEvent("user.updated", user({ id: "user_a", updatedAt: T + 10, firstName: "Augusta" })),
      ),
      step(deletedEvent("user_a", T + 20)),
    ],
    "a duplicate delivery": [
      step(userEvent("user.created", user({ id: "user_b", updatedAt: T })), redelivered),
      step(userEvent("user.created", user({ id: "user_b", updatedAt: T })), redelivered),
    ],
    "an update older than the stored row": [
      step(userEvent("user.updated", user({ id: "user_c", updatedAt: T + 10, lastName: "New" }))),
      step(userEvent("user.updated", user({ id: "user_c", updatedAt: T + 5, lastName: "Old" }))),
      step(userEvent("user.created", user({ id: "user_c", updatedAt: T, lastName: "First" }))),
    ],
    "create and update after delete": [
      step(deletedEvent("user_d", T + 30)),
      step(userEvent("user.created", user({ id: "user_d", updatedAt: T }))),
      step(userEvent("user.updated", user({ id: "user_d", updatedAt: T + 10 }))),
    ],
    "deleting an unknown user": [step(deletedEvent("user_never_seen", T))],
    "a user with no email": [
      step(userEvent("user.created", user({ id: "user_e", email: null, updatedAt: T }))),
    ],
    "the primary email not first in the list": [
      step(userEvent(
        "user.created",
        user({
          id: "user_f",
          email: "primary-f@example.com",
          otherEmails: ["first-f@example.com", "second-f@example.com"],
          updatedAt: T,
        }),
      )),
    ],
    "an email moving from one user to another, delivered out of order": [
      // Clerk: g holds the address, lets it go at T+10, h takes it at T+20.
      step(
        userEvent(
          "user.created",
          user({ id: "user_h", email: "shared@example.com", updatedAt: T + 20 }),
        ),
      ),
      step(
        userEvent(
          "user.created",
          user({ id: "user_g", email: "shared@example.com", updatedAt: T }),
        ),
      ),
      step(
        userEvent(
          "user.updated",
          user({ id: "user_g", email: "g-new@example.com", updatedAt: T + 10 }),
        ),
      ),
    ],
    "an email taken back from the older holder": [
      step(
        userEvent("user.created", user({ id: "user_i", email: "moved@example.com", updatedAt: T })),
      ),
      step(
        userEvent(
          "user.created",
          user({ id: "user_j", email: "MOVED@example.com", updatedAt: T + 20 }),
        ),
      ),
      step(userEvent("user.updated", user({ id: "user_i", email: null, updatedAt: T + 10 }))),
    ],
    "an event type that is not synced": [
      step({
        type: "session.created",
        object: "event",
        timestamp: T,
        data: { id: "sess_1" },
      }),
    ],
  };
}

const EXPECTED_OUTCOMES: Record<string, string[]> = {
  "created, updated, deleted": ["applied", "applied", "applied"],
  "a duplicate delivery": ["applied", "duplicate"],
  "an update older than the stored row": ["applied", "stale", "stale"],
  "create and update after delete": ["applied", "stale", "stale"],
  "deleting an unknown user": ["applied"],
  "a user with no email": ["applied"],
  "the primary email not first in the list": ["applied"],
  "an email moving from one user to another, delivered out of order": [
    "applied",
    "applied",
    "applied",
  ],
  "an email taken back from the older holder": ["applied", "applied", "applied"],
  "an event type that is not synced": ["ignored"],
};

const EXPECTED_ROWS = [
  { clerk_id: "user_b", email: "user_b@example.com", first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_c", email: "user_c@example.com", first_name: "Ada", last_name: "New" },
  { clerk_id: "user_e", email: null, first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_f", email: "primary-f@example.com", first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_g", email: "g-new@example.com", first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_h", email: "shared@example.com", first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_i", email: null, first_name: "Ada", last_name: "Lovelace" },
  { clerk_id: "user_j", email: "MOVED@example.com", first_name: "Ada", last_name: "Lovelace" },
];

interface RunResult {
  outcomes: Record<string, string[]>;
  rows: unknown[];
  tombstones: string[];
  ledger: unknown[];
}

/** Delivers every scenario through `transport` into `db` and reads back what it left. */
async function runScenarios(db: ScratchDatabase, transport: Transport): Promise<RunResult> {
  await using store = await openTransport(transport, db.url);
  await using server = serveHandler(store, secret);
  const outcomes: Record<string, string[]> = {};
  for (const [name, steps] of Object.entries(scenarios())) {
    outcomes[name] = [];
    for (const [event, id] of steps) {
      const { status, body } = await deliver(server.url, event, { secret, id });
      assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
      outcomes[name].push(String(body.outcome));
    }
  }
  const rows = await db.sql`
    select clerk_id, email, first_name, last_name from public.users order by clerk_id`;
  const tombstones = await db.sql`select clerk_id from clerk_sync.tombstones order by clerk_id`;
  const ledger = await db.sql`
    select event_type, clerk_id, outcome from clerk_sync.deliveries order by clerk_id, event_type, outcome`;
  return {
    outcomes,
    rows: [...rows],
    tombstones: tombstones.map((row) => row.clerk_id),
    ledger: [...ledger],
  };
}

const results: Partial<Record<Transport, RunResult>> = {};

for (const transport of TRANSPORTS) {
  const test = testOn(transport);
  test(`scenarios end as Clerk does through the ${transport} transport`, async () => {
    await using db = await scratchDatabase();
    const result = results[transport] = await runScenarios(db, transport);
    assert.deepEqual(result.outcomes, EXPECTED_OUTCOMES);
    assert.deepEqual(result.rows, EXPECTED_ROWS);
    assert.deepEqual(result.tombstones, ["user_a", "user_d", "user_never_seen"]);
  });
}

testOn("supabase")("both transports give identical answers, rows, tombstones and ledgers", () => {
  assert.ok(results.direct && results.supabase, "both transport tests ran");
  assert.deepEqual(results.supabase, results.direct);
});
