/**
 * Clerk organization roles: `role.created`, `.updated`, `.deleted` →
 * public.organization_roles, through clerk_sync.apply_role(). Instance-wide, no private
 * metadata. A member's effective permissions are its role's current ones once the role is
 * synced (clerk.is_org_member(), clerk.has_permission()). A delete carries no
 * `updated_at`: it is ordered by the envelope timestamp.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { normalizeRole } from "./membership.ts";
import { ORGANIZATIONS } from "./organization.ts";
import { clerkId, commonState, epoch, optionalText, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  key: storableText(255).min(1),
  name: storableText(2048),
  description: optionalText,
  // Clerk sends each permission whole; only its key is kept.
  permissions: z.array(z.object({ key: storableText(255).min(1) })).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk organization roles, by the events that carry them. */
export const ROLE: Entity = {
  name: "role",
  plural: "roles",
  table: "organization_roles",
  clerk: {
    list: "/v1/organization_roles",
    wrapped: true,
    one: { path: "/v1/organization_roles/{id}" },
    feature: ORGANIZATIONS,
  },
  stateTypes: ["role.created", "role.updated"],
  deleteType: "role.deleted",
  parseState(json, now) {
    const role = parseData(data, json, now);
    const state: EntityState = {
      // As memberships store it: the key with the org: prefix.
      key: normalizeRole(role.key),
      name: role.name,
      description: role.description,
      permissions: [...new Set((role.permissions ?? []).map((permission) => permission.key))],
      ...commonState(role),
    };
    return { id: role.id, state };
  },
};
