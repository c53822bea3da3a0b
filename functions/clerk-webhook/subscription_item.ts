/**
 * Clerk Billing subscription items (one plan of a payer's subscription): every
 * `subscriptionItem.*` event, and the items inside a subscription's events, →
 * public.billing_subscription_items, through clerk_sync.apply_subscription_item().
 * Each item's newest `updated_at` wins, however it arrives.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { BILLING, type Payer, payer } from "./billing.ts";
import { clerkId, epoch, optionalText, parseData, storableText } from "./schema.ts";

/** An item as Clerk sends it inside a subscription: no payer, a null subscription_id. */
export const itemData = z.object({
  id: clerkId,
  status: storableText(64).min(1),
  is_free_trial: z.boolean().nullish(),
  period_start: epoch.nullish(),
  period_end: epoch.nullish(),
  interval: optionalText,
  /** The Backend API's name for `interval`. */
  plan_period: optionalText,
  plan_id: storableText(255).nullish(),
  plan: z.object({
    id: storableText(255).nullish(),
    slug: optionalText,
    name: optionalText,
  }).nullish(),
  seats: z.object({ quantity: z.number().int().min(0).max(2_147_483_647).nullish() }).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

const data = itemData.extend({ payer, subscription_id: storableText(255).nullish() });

/**
 * Every item event type, `.updated` last (what the backfill applies a listed item as);
 * Clerk's SDK still lists `.created`, gone from its spec.
 */
const ITEM_TYPES = [
  "created",
  "active",
  "canceled",
  "upcoming",
  "ended",
  "abandoned",
  "incomplete",
  "pastDue",
  "freeTrialEnding",
  "updated",
].map((action) => `subscriptionItem.${action}`);

/** The state of an item for its apply function, with its subscription and payer. */
export function itemState(
  item: z.output<typeof itemData>,
  subscriptionId: string | null,
  paidBy: Payer,
): EntityState {
  return {
    // Clerk's Backend API leaves it out: the one the row has stays.
    ...(subscriptionId === null ? {} : { subscription_id: subscriptionId }),
    plan_id: item.plan_id ?? item.plan?.id ?? null,
    plan_slug: item.plan?.slug ?? null,
    plan_name: item.plan?.name ?? null,
    interval: item.interval ?? item.plan_period,
    status: item.status,
    is_free_trial: item.is_free_trial ?? false,
    period_start: item.period_start?.toISOString() ?? null,
    period_end: item.period_end?.toISOString() ?? null,
    seats: item.seats?.quantity ?? null,
    ...paidBy,
    clerk_created_at: item.created_at.toISOString(),
    clerk_updated_at: item.updated_at.toISOString(),
  };
}

/** Clerk Billing subscription items, by the events that carry them alone. */
export const SUBSCRIPTION_ITEM: Entity = {
  name: "subscription_item",
  plural: "subscription items",
  table: "billing_subscription_items",
  // Instance-wide, free plans' items included (left out by default), newest first.
  clerk: {
    list: "/v1/billing/subscription_items",
    wrapped: true,
    query: { include_free: "true" },
    feature: BILLING,
  },
  stateTypes: ITEM_TYPES,
  parseState(json, now) {
    const item = parseData(data, json, now);
    return { id: item.id, state: itemState(item, item.subscription_id ?? null, item.payer) };
  },
};
