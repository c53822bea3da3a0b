/**
 * The benchmark's events, one per user, by scenario: `mix`, half `user.created`, the
 * rest `user.updated` and `user.deleted` of users seeded just before; `burst`, only
 * `user.created` of distinct new users with an email (a launch day, a replay after an
 * outage).
 */
import type postgres from "postgres";
import { deletedEvent, newClerkId, userEvent } from "../dev/clerk_events.ts";
import { newSvixId } from "../dev/webhooks.ts";
import { seedNaiveTable } from "./naive_table.ts";

/** The benchmark's scenarios. */
export const SCENARIOS = ["mix", "burst"] as const;
export type Scenario = typeof SCENARIOS[number];

/** One delivery, not yet signed (signatures expire after 5 minutes). */
export interface BenchEvent {
  svixId: string;
  /** The JSON text, exactly as it will be sent and signed. */
  body: string;
}

/** Of every ten events: five create a user, four update one, one deletes one. */
const CREATED_PER_TEN = 5;
const UPDATED_PER_TEN = 4;
const HOUR_MS = 60 * 60 * 1000;

/**
 * Makes `count` distinct events of `scenario` and seeds public.users and the naive
 * handler's table, through the owner connection `sql`, with the users they update or
 * delete, so that each event meets the state it expects (no create of an existing user,
 * no update of a missing one) whichever handler receives it. Each user gets exactly one
 * event, so no two events contend for a row.
 */
export async function prepareEvents(
  sql: postgres.Sql,
  count: number,
  scenario: Scenario = "mix",
): Promise<BenchEvent[]> {
  const now = Date.now();
  const seeded: string[] = [];
  const events: BenchEvent[] = [];
  for (let index = 0; index < count; index++) {
    const slot = index % 10;
    const id = newClerkId();
    const state = {
      id,
      email: `${id}@example.com`,
      firstName: "Bench",
      lastName: `User ${index}`,
      createdAt: now - HOUR_MS,
      updatedAt: now,
    };
    let payload: Record<string, unknown>;
    if (scenario === "burst" || slot < CREATED_PER_TEN) {
      payload = userEvent("user.created", state);
    } else {
      seeded.push(id);
      payload = slot < CREATED_PER_TEN + UPDATED_PER_TEN
        ? userEvent("user.updated", state)
        : deletedEvent(id, now);
    }
    events.push({ svixId: newSvixId(), body: JSON.stringify(payload) });
  }
  if (seeded.length > 0) {
    const past = new Date(now - HOUR_MS);
    await sql`
      insert into public.users (
        clerk_id, email, first_name, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
      )
      select id, id || '@example.com', 'Seeded', ${past}, ${past}, ${past}, 'msg_seed'
      from unnest(${seeded}::text[]) as id`;
    await seedNaiveTable(sql, seeded);
  }
  return events;
}
