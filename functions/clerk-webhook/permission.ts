/**
 * Clerk organization permissions: `permission.created`, `.updated`, `.deleted` →
 * public.organization_permissions, through clerk_sync.apply_permission(). Instance-wide,
 * no private metadata. A delete carries no `updated_at`: it is ordered by the envelope
 * timestamp.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { ORGANIZATIONS } from "./organization.ts";
import { clerkId, commonState, epoch, optionalText, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  key: storableText(255).min(1),
  name: storableText(2048),
  description: optionalText,
  type: storableText(64).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk organization permissions, by the events that carry them. */
export const PERMISSION: Entity = {
  name: "permission",
  plural: "permissions",
  table: "organization_permissions",
  clerk: {
    list: "/v1/organization_permissions",
    wrapped: true,
    one: { path: "/v1/organization_permissions/{id}" },
    feature: ORGANIZATIONS,
  },
  stateTypes: ["permission.created", "permission.updated"],
  deleteType: "permission.deleted",
  parseState(json, now) {
    const permission = parseData(data, json, now);
    const state: EntityState = {
      key: permission.key,
      name: permission.name,
      description: permission.description,
      type: permission.type ?? null,
      ...commonState(permission),
    };
    return { id: permission.id, state };
  },
};
