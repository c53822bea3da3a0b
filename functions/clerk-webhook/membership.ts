/**
 * Clerk organization memberships: `organizationMembership.created`, `.updated`,
 * `.deleted` → public.organization_memberships, through clerk_sync.apply_membership().
 * A delete carries the whole membership; only its id is used, and it is ordered by the
 * envelope timestamp.
 */
import { z } from "zod";
import type { EntityState, ListedEntity } from "./entity.ts";
import { ORGANIZATIONS } from "./organization.ts";
import {
  clerkId,
  commonState,
  epoch,
  jsonObject,
  optionalText,
  parseData,
  storableText,
} from "./schema.ts";

/** Old payloads name roles without the prefix: `admin`, `basic_member`. */
const LEGACY_ROLES: Record<string, string> = { admin: "org:admin", basic_member: "org:member" };

const data = z.object({
  id: clerkId,
  role: storableText(255).min(1),
  role_name: optionalText,
  permissions: z.array(storableText(255)).nullish(),
  public_metadata: jsonObject,
  private_metadata: jsonObject.optional(),
  organization: z.object({ id: clerkId }),
  public_user_data: z.object({
    user_id: clerkId,
    first_name: optionalText,
    last_name: optionalText,
    image_url: storableText(8192).nullish(),
    identifier: optionalText,
  }),
  created_at: epoch,
  updated_at: epoch,
});

/** The role as current tokens and payloads write it, with the `org:` prefix. */
export function normalizeRole(role: string): string {
  return LEGACY_ROLES[role] ?? (role.startsWith("org:") ? role : `org:${role}`);
}

/** Clerk organization memberships, by the events that carry them. */
export const MEMBERSHIP: ListedEntity = {
  name: "membership",
  plural: "memberships",
  table: "organization_memberships",
  privateTable: "organization_memberships_private",
  clerk: {
    list: "/v1/organization_memberships",
    wrapped: true,
    // Clerk has no endpoint for one membership: it is found in its organization's list.
    one: {
      parentPath: "/v1/organizations/{parent}",
      listPath: "/v1/organizations/{parent}/memberships",
      parentColumn: "organization_id",
    },
    feature: ORGANIZATIONS,
  },
  stateTypes: ["organizationMembership.created", "organizationMembership.updated"],
  deleteType: "organizationMembership.deleted",
  parseState(json, now) {
    const membership = parseData(data, json, now);
    const state: EntityState = {
      organization_id: membership.organization.id,
      user_id: membership.public_user_data.user_id,
      role: normalizeRole(membership.role),
      role_name: membership.role_name,
      permissions: membership.permissions ?? [],
      public_metadata: membership.public_metadata,
      // What co-members see of the member, until the member's own row takes over.
      user_first_name: membership.public_user_data.first_name,
      user_last_name: membership.public_user_data.last_name,
      user_image_url: membership.public_user_data.image_url ?? null,
      user_identifier: membership.public_user_data.identifier,
      ...commonState(membership),
    };
    return { id: membership.id, state };
  },
};
