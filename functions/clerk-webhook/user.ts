/**
 * Clerk users: `user.created`, `user.updated`, `user.deleted` → public.users and
 * public.users_private, through clerk_sync.apply_user(). A new column is a field here
 * and a column in that SQL function.
 */
import { z } from "zod";
import type { EntityState, ListedEntity } from "./entity.ts";
import {
  clerkId,
  commonState,
  epoch,
  jsonObject,
  optionalText,
  parseData,
  storableText,
} from "./schema.ts";

/**
 * The set of fields this module sends (public.users.sync_format): bump it with a new
 * column, so that a backfill fills it in the rows that lack it.
 */
export const USER_SYNC_FORMAT = 2;

const data = z.object({
  id: clerkId,
  email_addresses: z.array(z.object({
    id: z.string(),
    email_address: storableText(320),
    verification: z.object({ status: z.string().nullish() }).nullish(),
  })),
  primary_email_address_id: z.string().nullish(),
  phone_numbers: z.array(z.object({ id: z.string(), phone_number: storableText(64) }))
    .nullish(),
  primary_phone_number_id: z.string().nullish(),
  username: optionalText,
  first_name: optionalText,
  last_name: optionalText,
  image_url: storableText(8192).nullish(),
  external_id: optionalText,
  public_metadata: jsonObject,
  private_metadata: jsonObject.optional(),
  unsafe_metadata: jsonObject,
  banned: z.boolean().nullish(),
  locked: z.boolean().nullish(),
  last_sign_in_at: epoch.nullish(),
  created_at: epoch,
  updated_at: epoch,
});

/** Clerk users, by the events that carry them. */
export const USER: ListedEntity = {
  name: "user",
  plural: "users",
  table: "users",
  privateTable: "users_private",
  clerk: {
    // Oldest first (order_by=+created_at): users created while paging land on later pages.
    list: "/v1/users",
    wrapped: false,
    one: { path: "/v1/users/{id}" },
  },
  stateTypes: ["user.created", "user.updated"],
  deleteType: "user.deleted",
  parseState(json, now) {
    const user = parseData(data, json, now);
    // The primary address and phone by their ids, never the first of the list.
    const email = user.email_addresses.find(({ id }) => id === user.primary_email_address_id);
    const phone = user.phone_numbers?.find(({ id }) => id === user.primary_phone_number_id);
    const state: EntityState = {
      email: email?.email_address ?? null,
      email_verified: email?.verification?.status === "verified",
      phone_number: phone?.phone_number ?? null,
      username: user.username,
      first_name: user.first_name,
      last_name: user.last_name,
      image_url: user.image_url ?? null,
      external_id: user.external_id,
      public_metadata: user.public_metadata,
      unsafe_metadata: user.unsafe_metadata,
      banned: user.banned ?? false,
      locked: user.locked ?? false,
      last_sign_in_at: user.last_sign_in_at?.toISOString() ?? null,
      sync_format: USER_SYNC_FORMAT,
      ...commonState(user),
    };
    return { id: user.id, state };
  },
};
