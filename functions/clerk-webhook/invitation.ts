/**
 * Clerk organization invitations: `organizationInvitation.created`, `.accepted`,
 * `.revoked` → public.organization_invitations and its _private table, through
 * clerk_sync.apply_invitation(). Clerk sends no delete and no `.expired`: an invitation
 * goes with its organization, and `expires_at` says when a pending one lapses.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { normalizeRole } from "./membership.ts";
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

const data = z.object({
  id: clerkId,
  organization_id: clerkId,
  email_address: storableText(2048).min(1),
  role: storableText(255).min(1),
  role_name: optionalText,
  status: storableText(64).min(1),
  user_id: clerkId.nullish(),
  public_metadata: jsonObject,
  private_metadata: jsonObject.optional(),
  expires_at: epoch.nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk organization invitations, by the events that carry them. */
export const INVITATION: Entity = {
  name: "invitation",
  plural: "invitations",
  table: "organization_invitations",
  privateTable: "organization_invitations_private",
  clerk: {
    // Listed per organization.
    list: "/v1/organizations/{parent}/invitations",
    parents: "/v1/organizations",
    wrapped: true,
    // Clerk has one invitation's endpoint under its organization only.
    one: {
      parentPath: "/v1/organizations/{parent}",
      listPath: "/v1/organizations/{parent}/invitations",
      parentColumn: "organization_id",
    },
    feature: ORGANIZATIONS,
  },
  stateTypes: [
    "organizationInvitation.created",
    "organizationInvitation.accepted",
    "organizationInvitation.revoked",
  ],
  parseState(json, now) {
    const invitation = parseData(data, json, now);
    const state: EntityState = {
      organization_id: invitation.organization_id,
      email_address: invitation.email_address,
      role: normalizeRole(invitation.role),
      role_name: invitation.role_name,
      status: invitation.status,
      user_id: invitation.user_id ?? null,
      public_metadata: invitation.public_metadata,
      expires_at: invitation.expires_at?.toISOString() ?? null,
      ...commonState(invitation),
    };
    return { id: invitation.id, state };
  },
};
