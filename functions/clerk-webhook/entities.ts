/**
 * The registry of the Clerk entities the sync keeps, in the order the backfill brings them
 * (a membership after its organization and its user); every other event type is ignored.
 * An entity is added here, in its module, in its supabase/schemas file with its lines in
 * 50_entry_point.sql, and in a migration.
 */
import { DOMAIN } from "./domain.ts";
import type { Entity } from "./entity.ts";
import { INVITATION } from "./invitation.ts";
import { MEMBERSHIP } from "./membership.ts";
import { ORGANIZATION } from "./organization.ts";
import { PAYMENT_ATTEMPT } from "./payment_attempt.ts";
import { PERMISSION } from "./permission.ts";
import { ROLE } from "./role.ts";
import { SUBSCRIPTION } from "./subscription.ts";
import { SUBSCRIPTION_ITEM } from "./subscription_item.ts";
import { USER } from "./user.ts";
import { WAITLIST_ENTRY } from "./waitlist_entry.ts";

/** Every entity the sync keeps. */
export const ENTITIES: readonly Entity[] = [
  USER,
  ORGANIZATION,
  MEMBERSHIP,
  INVITATION,
  PERMISSION,
  ROLE,
  DOMAIN,
  SUBSCRIPTION,
  SUBSCRIPTION_ITEM,
  PAYMENT_ATTEMPT,
  WAITLIST_ENTRY,
];

/** Every event type the sync keeps, the ones a Clerk endpoint subscribes to. */
export const SYNCED_EVENT_TYPES: readonly string[] = ENTITIES.flatMap((entity) => [
  ...entity.stateTypes,
  ...(entity.deleteType === undefined ? [] : [entity.deleteType]),
]);

/** The entity whose event `type` is, if the sync keeps it. */
export function entityOf(type: string): Entity | undefined {
  return ENTITIES.find((entity) => entity.deleteType === type || entity.stateTypes.includes(type));
}
