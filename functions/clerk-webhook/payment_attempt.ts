/**
 * Clerk Billing payment attempts: `paymentAttempt.created`, `.updated` →
 * public.billing_payment_attempts, through clerk_sync.apply_payment_attempt(). Clerk sends
 * no delete; the attempt's payment source, payee and line items are not kept.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { payer } from "./billing.ts";
import { clerkId, epoch, jsonObject, parseData, storableText } from "./schema.ts";

const money = z.object({
  amount: z.number().int().min(-(2 ** 53 - 1)).max(2 ** 53 - 1),
  currency: storableText(16).nullish(),
}).nullish();

const data = z.object({
  id: clerkId,
  status: storableText(64).min(1),
  payer,
  charge_type: storableText(64).nullish(),
  paid_at: epoch.nullish(),
  failed_at: epoch.nullish(),
  // Clerk's types leave its shape open: text, or an object with a code.
  failed_reason: z.union([z.null(), storableText(2048), jsonObject]).optional(),
  totals: z.object({ subtotal: money, tax_total: money, grand_total: money }).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk Billing payment attempts, by the events that carry them. */
export const PAYMENT_ATTEMPT: Entity = {
  name: "payment_attempt",
  plural: "payment attempts",
  table: "billing_payment_attempts",
  stateTypes: ["paymentAttempt.created", "paymentAttempt.updated"],
  parseState(json, now) {
    const attempt = parseData(data, json, now);
    const totals = attempt.totals;
    const state: EntityState = {
      status: attempt.status,
      ...attempt.payer,
      subtotal_amount: totals?.subtotal?.amount ?? null,
      tax_amount: totals?.tax_total?.amount ?? null,
      total_amount: totals?.grand_total?.amount ?? null,
      currency: totals?.grand_total?.currency ?? totals?.subtotal?.currency ?? null,
      paid_at: attempt.paid_at?.toISOString() ?? null,
      failed_at: attempt.failed_at?.toISOString() ?? null,
      failed_reason: attempt.failed_reason ?? null,
      charge_type: attempt.charge_type ?? null,
      clerk_created_at: attempt.created_at.toISOString(),
      clerk_updated_at: attempt.updated_at.toISOString(),
    };
    return { id: attempt.id, state };
  },
};
