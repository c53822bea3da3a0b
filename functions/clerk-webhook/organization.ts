/**
 * Clerk organizations: `organization.created`, `.updated`, `.deleted` →
 * public.organizations and public.organizations_private, through
 * clerk_sync.apply_organization(). A new column is a field here and a column there.
 */
import { z } from "zod";
import type { ClerkFeature, EntityState, ListedEntity } from "./entity.ts";
import {
  clerkId,
  commonState,
  epoch,
  jsonObject,
  optionalText,
  parseData,
  storableText,
} from "./schema.ts";

const data = z.object({
  id: clerkId,
  name: storableText(2048),
  slug: storableText(255).nullish(),
  image_url: storableText(8192).nullish(),
  public_metadata: jsonObject,
  private_metadata: jsonObject.optional(),
  max_allowed_memberships: z.number().int().min(0).max(2_147_483_647).nullish(),
  created_by: optionalText,
  created_at: epoch,
  updated_at: epoch,
});

/**
 * Clerk's organizations feature, off by default for a new application: then every
 * organization endpoint answers 403 `organization_not_enabled_in_instance`.
 */
export const ORGANIZATIONS: ClerkFeature = {
  name: "organizations",
  probe: "/v1/organizations",
  offCode: "organization_not_enabled_in_instance",
};

/** Clerk organizations, by the events that carry them. */
export const ORGANIZATION: ListedEntity = {
  name: "organization",
  plural: "organizations",
  table: "organizations",
  privateTable: "organizations_private",
  clerk: {
    list: "/v1/organizations",
    wrapped: true,
    one: { path: "/v1/organizations/{id}" },
    feature: ORGANIZATIONS,
  },
  stateTypes: ["organization.created", "organization.updated"],
  deleteType: "organization.deleted",
  parseState(json, now) {
    const org = parseData(data, json, now);
    const state: EntityState = {
      name: org.name,
      slug: org.slug ?? null,
      image_url: org.image_url ?? null,
      public_metadata: org.public_metadata,
      max_allowed_memberships: org.max_allowed_memberships ?? null,
      created_by: org.created_by,
      ...commonState(org),
    };
    return { id: org.id, state };
  },
};
