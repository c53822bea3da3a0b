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
