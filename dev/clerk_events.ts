/**
 * Clerk-shaped events, built on Clerk's own sample `user.created` payload
 * (fixtures/clerk/user.created.docs-sample.json, verbatim from Clerk's docs), so every event carries
 * the fields Clerk sends. Used by `npm run send` and by the tests.
 */
import SAMPLE from "../fixtures/clerk/user.created.docs-sample.json" with { type: "json" };

/** Clerk's sample event, byte for byte as Clerk's docs publish it. */
export const SAMPLE_TEXT = await Deno.readTextFile(
  new URL("../fixtures/clerk/user.created.docs-sample.json", import.meta.url),
);

/** The user of Clerk's sample event, as the dashboard's Testing tab sends it. */
export const SAMPLE_USER = {
  id: SAMPLE.data.id,
  email: SAMPLE.data.email_addresses[0]!.email_address,
  firstName: SAMPLE.data.first_name,
  lastName: SAMPLE.data.last_name,
} as const;

/** A fresh Clerk user id. */
export function newClerkId(): string {
  return `user_${crypto.randomUUID().replaceAll("-", "").slice(0, 27)}`;
}

/** The synced fields of a user at one moment in Clerk. */
export interface UserState {
  id: string;
  email: string | null;
  firstName?: string | null;
  lastName?: string | null;
  imageUrl?: string | null;
  /** Clerk's created_at, epoch ms. */
  createdAt?: number;
  /** Clerk's updated_at, epoch ms. */
  updatedAt: number;
  /** Other addresses the user has, listed before the primary one. */
  otherEmails?: string[];
  username?: string | null;
  /** The primary phone number; other numbers are listed before it. */
  phone?: string | null;
  otherPhones?: string[];
  publicMetadata?: Record<string, unknown>;
  privateMetadata?: Record<string, unknown>;
  unsafeMetadata?: Record<string, unknown>;
  banned?: boolean;
}

/** A `user.created` or `user.updated` event carrying `state`, stamped `timestamp` (ms). */
export function userEvent(
  type: "user.created" | "user.updated",
  state: UserState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  const others = (state.otherEmails ?? []).map((address, index) =>
    emailAddress(`idn_other${index}`, address)
  );
  const primary = state.email === null ? [] : [emailAddress("idn_primary", state.email)];
  const phones = (state.otherPhones ?? []).map((number, index) =>
    phoneNumber(`idn_phone_other${index}`, number)
  );
  if (state.phone) phones.push(phoneNumber("idn_phone_primary", state.phone));
  return {
    ...SAMPLE,
    type,
    timestamp,
    data: {
      ...SAMPLE.data,
      id: state.id,
      email_addresses: [...others, ...primary],
      primary_email_address_id: state.email === null ? null : "idn_primary",
      first_name: state.firstName ?? null,
      last_name: state.lastName ?? null,
      image_url: state.imageUrl ?? `https://img.clerk.com/${state.id}`,
      username: state.username ?? null,
      phone_numbers: phones,
      primary_phone_number_id: state.phone ? "idn_phone_primary" : null,
      public_metadata: state.publicMetadata ?? {},
      private_metadata: state.privateMetadata ?? {},
      unsafe_metadata: state.unsafeMetadata ?? {},
      banned: state.banned ?? false,
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** A `user.deleted` event as Clerk sends it, stamped `timestamp` (ms). */
export function deletedEvent(id: string, timestamp: number): Record<string, unknown> {
  return {
    data: { deleted: true, id, object: "user" },
    instance_id: SAMPLE.instance_id,
    object: "event",
    timestamp,
    type: "user.deleted",
  };
}

function phoneNumber(id: string, number: string) {
  return {
    id,
    object: "phone_number",
    phone_number: number,
    verification: { status: "verified", strategy: "phone_code" },
  };
}

function emailAddress(id: string, address: string) {
  return {
    email_address: address,
    id,
    linked_to: [],
    object: "email_address",
    verification: { status: "verified", strategy: "email_code" },
  };
}
