/**
 * How each contender of the benchmark receives one event: a signed HTTP delivery, a
 * call of the function's own store (no HTTP), or the database ceiling's plain writes.
 * Preparing (signing, parsing) happens before a phase, outside the measurement.
 */
import type postgres from "postgres";
import { parseClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import { batchArguments, type SyncStore } from "../functions/clerk-webhook/store.ts";
import { svixHeaders } from "../dev/webhooks.ts";
import type { BenchEvent } from "./events.ts";
import type { Send } from "./load.ts";

/** Turns a phase's events into a sender of each of them. */
export type Target = (events: BenchEvent[]) => Send;

/**
 * POSTs each event, signed with `secret` just now, to `url`; a non-2xx answer or a
 * network error is a failure. The label is the answer's body.
 */
export function httpTarget(url: string, secret: string): Target {
  return (events) => {
    const requests = events.map(({ svixId, body }) => ({
      body,
      headers: { "content-type": "application/json", ...svixHeaders(body, { secret, id: svixId }) },
    }));
    return async (index) => {
      const { body, headers } = requests[index]!;
      const response = await fetch(url, { method: "POST", headers, body });
      const text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}: ${text}`);
      return text;
    };
  };
}

/** Applies each event through `store`, as the function does after verifying and parsing. */
export function storeTarget(store: SyncStore): Target {
  return (events) => {
    const parsed = events.map(({ svixId, body }) => ({ svixId, event: parseClerkEvent(body) }));
    return (index) => {
      const { svixId, event } = parsed[index]!;
      return store.apply(svixId, event);
    };
  };
}

/**
 * The database ceiling: the row each event leaves in public.users, written with one
 * plain statement per event (autocommit, prepared) over `sql`, as the owner.
 * `user.created` and `user.updated` are `insert … on conflict (clerk_id) do update` of
 * every synced column (with `plainInsert`, for a burst of new users: a plain `insert`);
 * `user.deleted` is `delete … where clerk_id = …`. No ledger, no tombstone, no guard.
 */
export function ceilingTarget(sql: postgres.Sql, { plainInsert = false } = {}): Target {
  return (events) => {
    const rows = events.map(({ svixId, body }) =>
      batchArguments([{ svixId, event: parseClerkEvent(body) }]).p_events[0]!
    );
    return async (index) => {
      const a = rows[index]!;
      const s = a.state;
      if (s === null) {
        await sql`delete from public.users where clerk_id = ${a.object_id}`;
        return "deleted";
      }
      // A burst creates only new users: the ceiling is then a plain insert.
      const onConflict = plainInsert ? sql`` : sql`
        on conflict (clerk_id) do update set
          email = excluded.email,
          first_name = excluded.first_name,
          last_name = excluded.last_name,
          image_url = excluded.image_url,
          username = excluded.username,
          phone_number = excluded.phone_number,
          email_verified = excluded.email_verified,
          external_id = excluded.external_id,
          public_metadata = excluded.public_metadata,
          unsafe_metadata = excluded.unsafe_metadata,
          banned = excluded.banned,
          locked = excluded.locked,
          last_sign_in_at = excluded.last_sign_in_at,
          sync_format = excluded.sync_format,
          clerk_created_at = excluded.clerk_created_at,
          clerk_updated_at = excluded.clerk_updated_at,
          clerk_event_at = excluded.clerk_event_at,
          svix_id = excluded.svix_id`;
      await sql`
        insert into public.users (
          clerk_id, email, first_name, last_name, image_url, username, phone_number,
          email_verified, external_id, public_metadata, unsafe_metadata, banned, locked,
          last_sign_in_at, sync_format, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
        )
        values (
          ${a.object_id}, ${s.email as string | null}, ${s.first_name as string | null},
          ${s.last_name as string | null}, ${s.image_url as string | null},
          ${s.username as string | null}, ${s.phone_number as string | null},
          ${s.email_verified as boolean}, ${s.external_id as string | null},
          ${JSON.stringify(s.public_metadata)}::jsonb, ${JSON.stringify(s.unsafe_metadata)}::jsonb,
          ${s.banned as boolean}, ${s.locked as boolean}, ${s.last_sign_in_at as string | null},
          ${s.sync_format as number}, ${s.clerk_created_at}, ${s.clerk_updated_at},
          ${a.event_at}, ${a.svix_id}
        )
        ${onConflict}`;
      return plainInsert ? "inserted" : "upserted";
    };
  };
}

/**
 * The goals' targets (bench/report.ts measures and checks them): ratios of the function
 * (direct transport) to the seed-shaped naive handler and to the database ceiling, and
 * absolute figures.
 */
export const GOALS = {
  /** Function / naive handler, events/s at each of these in flight, in both scenarios: at least. */
  throughputToNaive: 1,
  throughputToNaiveAt: [16, 64],
  /** Function / database ceiling at 16 in flight, mix scenario: at least (kept from before). */
  mixThroughputToCeiling: 0.5,
  /** PostgreSQL CPU per event at this many in flight, both scenarios: at most the naive's. */
  postgresCpuAt: 16,
  /** Backfill, direct transport, users/s: at least. */
  backfillDirect: 10_000,
  /** Cold start median, on each Deno: at most this multiple of the naive handler's. */
  coldStartToNaive: 1.2,
} as const;
