/**
 * Clerk waitlist entries: `waitlistEntry.created`, `.updated` → public.waitlist_entries,
 * through clerk_sync.apply_waitlist_entry(); for the app's server only. Clerk sends no
 * delete.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { clerkId, commonState, epoch, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  email_address: storableText(320),
  status: storableText(64).min(1),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk waitlist entries, by the events that carry them. */
export const WAITLIST_ENTRY: Entity = {
  name: "waitlist_entry",
  plural: "waitlist entries",
  table: "waitlist_entries",
  clerk: { list: "/v1/waitlist_entries", wrapped: true },
  stateTypes: ["waitlistEntry.created", "waitlistEntry.updated"],
  parseState(json, now) {
    const entry = parseData(data, json, now);
    const state: EntityState = {
      email_address: entry.email_address,
      status: entry.status,
      ...commonState(entry),
    };
    return { id: entry.id, state };
  },
};
