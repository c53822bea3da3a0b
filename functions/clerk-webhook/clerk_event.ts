/**
 * Validation of a verified Clerk event: the envelope here, the object by its entity
 * (entities.ts). Types the sync does not keep are acknowledged, never applied.
 */
import { z } from "zod";
import { entityOf } from "./entities.ts";
import type { EntityState } from "./entity.ts";
import { clerkId, epoch, InvalidEventError, notLaterThan, parse, storableText } from "./schema.ts";

/** A Clerk event, validated and normalized. */
export interface ClerkEvent {
  type: string;
  /** The Clerk id of the object the event is about; null for types the sync ignores. */
  objectId: string | null;
  /** The envelope timestamp: when Clerk emitted the event. */
  occurredAt: Date;
  /** The object's state for its apply function; null for deletions and ignored types. */
  state: EntityState | null;
}

const envelope = z.object({ type: storableText(100).min(1), timestamp: epoch });
const deleted = z.object({ data: z.object({ id: clerkId }) });

/**
 * Parses the verified body `text` as a Clerk event. Times later than `now` (plus clock
 * skew) are refused: a future version would freeze the row.
 */
export function parseClerkEvent(text: string, now: number = Date.now()): ClerkEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidEventError("Body is not JSON");
  }
  const { type, timestamp: occurredAt } = parse(envelope, json);
  notLaterThan(now, { timestamp: occurredAt });
  const entity = entityOf(type);
  if (entity === undefined) return { type, objectId: null, occurredAt, state: null };
  if (type === entity.deleteType) {
    return { type, objectId: parse(deleted, json).data.id, occurredAt, state: null };
  }
  const { id, state } = entity.parseState((json as { data?: unknown }).data, now);
  return { type, objectId: id, occurredAt, state };
}

/** An event that carries an object's state. */
export type StateEvent = ClerkEvent & { objectId: string; state: EntityState };

/**
 * An object of Clerk's Backend API as the `type` event of its current state, validated by
 * the webhook's own parser (the API's objects are the webhooks' `data`) and stamped with
 * Clerk's `updated_at`: how the backfill and POST /sync apply what they read from Clerk.
 * Throws the parser's `InvalidEventError`.
 */
export function stateEventOf(type: string, object: unknown, now: number): StateEvent {
  // The envelope's timestamp only has to pass the envelope check: the event time is
  // taken from `data.updated_at` once the parser has validated it.
  const event = parseClerkEvent(JSON.stringify({ type, timestamp: now, data: object }), now);
  const { objectId, state } = event;
  if (objectId === null || state === null) {
    throw new TypeError(`Expected a state, got "${event.type}"`);
  }
  return { ...event, objectId, state, occurredAt: new Date(state.clerk_updated_at) };
}

/**
 * The delivery id of a state read from Clerk's API rather than delivered by Svix:
 * `<source>:<id>:<updated_at ms>[:<sync format>]`, the same for the same state, so that a
 * second read of it is a `duplicate`, and new with a new sync format.
 */
export function readDeliveryId(source: "backfill" | "sync", event: StateEvent): string {
  const { objectId, occurredAt, state } = event;
  const format = state.sync_format === undefined ? "" : `:${state.sync_format}`;
  return `${source}:${objectId}:${occurredAt.getTime()}${format}`;
}
