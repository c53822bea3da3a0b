/**
 * Clerk waitlist entries: `waitlistEntry.created`, `.updated` → public.waitlist_entries,
 * through clerk_sync.apply_waitlist_entry(); for the app's server only. Clerk sends no
 * delete.
 */
import { z } from "zod";
import type { ClerkFeature, Entity, EntityState } from "./entity.ts";
import { clerkId, commonState, epoch, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  email_address: storableText(320),
  status: storableText(64).min(1),
  created_at: epoch,
  updated_at: epoch,
});

/**
 * The waitlist, a sign-up mode of the instance. Whether Clerk answers its listing when the
 * mode is off is not documented: a 403 of it reads as off, and the backfill skips it in
 * one line rather than failing.
 */
export const WAITLIST: ClerkFeature = { name: "waitlist features", probe: "/v1/waitlist_entries" };

/** Clerk waitlist entries, by the events that carry them. */
export const WAITLIST_ENTRY: Entity = {
  name: "waitlist_entry",
  plural: "waitlist entries",
  table: "waitlist_entries",
  clerk: { list: "/v1/waitlist_entries", wrapped: true, feature: WAITLIST },
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
