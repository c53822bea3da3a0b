/**
 * Clerk Billing subscriptions: `subscription.created`, `.updated`, `.active`, `.pastDue`
 * → public.billing_subscriptions, through clerk_sync.apply_subscription(), which also
 * applies each of its `items` to public.billing_subscription_items by the item's own
 * order (subscription_item.ts). Clerk sends no delete.
 */
import { z } from "zod";
import type { Entity, EntityState } from "./entity.ts";
import { payer } from "./billing.ts";
import { itemData, itemState } from "./subscription_item.ts";
import { clerkId, epoch, notLaterThan, parseData, storableText } from "./schema.ts";

const data = z.object({
  id: clerkId,
  status: storableText(64).min(1),
  payer,
  active_at: epoch.nullish(),
  past_due_at: epoch.nullish(),
  canceled_at: epoch.nullish(),
  ended_at: epoch.nullish(),
  items: z.array(itemData).max(100).nullish(),
  created_at: epoch,
  updated_at: epoch,
});

const iso = (time: Date | null | undefined) => time?.toISOString() ?? null;

/** Clerk Billing subscriptions, by the events that carry them. */
export const SUBSCRIPTION: Entity = {
  name: "subscription",
  plural: "subscriptions",
  table: "billing_subscriptions",
  stateTypes: [
    "subscription.created",
    "subscription.active",
    "subscription.pastDue",
    "subscription.updated",
  ],
  parseState(json, now) {
    const subscription = parseData(data, json, now);
    const items = subscription.items ?? [];
    // An item's updated_at orders it as the subscription's own does: none in the future.
    notLaterThan(
      now,
      Object.fromEntries(items.map((item, i) => [`data.items.${i}.updated_at`, item.updated_at])),
    );
    const state: EntityState = {
      status: subscription.status,
      ...subscription.payer,
      active_at: iso(subscription.active_at),
      past_due_at: iso(subscription.past_due_at),
      canceled_at: iso(subscription.canceled_at),
      ended_at: iso(subscription.ended_at),
      // Each item with the subscription's id and payer, which Clerk leaves out of them.
      items: items.map((item) => ({
        clerk_id: item.id,
        ...itemState(item, subscription.id, subscription.payer),
      })),
      clerk_created_at: subscription.created_at.toISOString(),
      clerk_updated_at: subscription.updated_at.toISOString(),
    };
    return { id: subscription.id, state };
  },
};
