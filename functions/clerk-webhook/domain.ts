/**
 * Clerk organization domains: `organizationDomain.created`, `.updated`, `.deleted` →
 * public.organization_domains, through clerk_sync.apply_domain(). No private metadata; a
 * domain goes with its organization. A delete carries no `updated_at`: it is ordered by
 * the envelope timestamp.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { ORGANIZATIONS } from "./organization.ts";
import { clerkId, commonState, epoch, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  organization_id: clerkId,
  name: storableText(2048).min(1),
  enrollment_mode: storableText(64).min(1),
  verification: z.object({ status: storableText(64).nullish() }).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk organization domains, by the events that carry them. */
export const DOMAIN: Entity = {
  name: "domain",
  plural: "domains",
  table: "organization_domains",
  clerk: {
    // Listed per organization.
    list: "/v1/organizations/{parent}/domains",
    parents: "/v1/organizations",
    wrapped: true,
    // Clerk has one domain's endpoint under its organization only.
    one: {
      parentPath: "/v1/organizations/{parent}",
      listPath: "/v1/organizations/{parent}/domains",
      parentColumn: "organization_id",
    },
    feature: ORGANIZATIONS,
  },
  stateTypes: ["organizationDomain.created", "organizationDomain.updated"],
  deleteType: "organizationDomain.deleted",
  parseState(json, now) {
    const domain = parseData(data, json, now);
    const state: EntityState = {
      organization_id: domain.organization_id,
      name: domain.name,
      enrollment_mode: domain.enrollment_mode,
      verification_status: domain.verification?.status ?? null,
      ...commonState(domain),
    };
    return { id: domain.id, state };
  },
};
