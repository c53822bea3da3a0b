/**
 * What Clerk Billing's objects share: the payer (a user or an organization) and the
 * feature an instance may have off. The entities are subscription.ts,
 * subscription_item.ts and payment_attempt.ts.
 */
import { z } from "zod";
import type { ClerkFeature } from "./entity.ts";
import { storableText } from "./schema.ts";

/**
 * Clerk Billing, off unless the instance turned it on: then its endpoints answer 403, as
 * organizations' do when they are off. Clerk documents no code for it: any 403 of the
 * probe reads as off.
 */
export const BILLING: ClerkFeature = {
  name: "billing features",
  probe: "/v1/billing/subscription_items",
};

/**
 * Clerk's `commerce_payer`: a user payer has `organization_id: ""` (not null), and a
 * payment attempt's payer may have no `organization_id` at all.
 */
export const payer = z.object({
  user_id: storableText(255).nullish(),
  organization_id: storableText(255).nullish(),
}).transform((value, context) => {
  if (value.organization_id) {
    return { payer_user_id: null, payer_organization_id: value.organization_id };
  }
  if (value.user_id) return { payer_user_id: value.user_id, payer_organization_id: null };
  context.addIssue({
    code: "custom",
    message: "Invalid input: the payer names neither a user nor an organization",
  });
  return z.NEVER;
});

/** Who pays, as the billing tables keep it: exactly one of the two is set. */
export type Payer = z.output<typeof payer>;
