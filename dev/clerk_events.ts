/**
 * Clerk-shaped events, built on Clerk's own samples (fixtures/clerk: the docs'
 * `user.created`, the published organization, membership, invitation, role, permission,
 * domain, billing and waitlist examples), so every event
 * carries the fields Clerk sends. Used by `npm run send` and by the tests.
 */
import SAMPLE from "../fixtures/clerk/user.created.docs-sample.json" with { type: "json" };
import ORGANIZATION_SAMPLE from "../fixtures/clerk/openapi-examples/organization.created.json" with {
  type: "json",
};
import MEMBERSHIP_SAMPLE from "../fixtures/clerk/openapi-examples/organizationMembership.created.json" with {
  type: "json",
};
import INVITATION_SAMPLE from "../fixtures/clerk/openapi-examples/organizationInvitation.created.json" with {
  type: "json",
};
import ROLE_SAMPLE from "../fixtures/clerk/openapi-examples/role.created.json" with {
  type: "json",
};
import PERMISSION_SAMPLE from "../fixtures/clerk/openapi-examples/permission.created.json" with {
  type: "json",
};
import DOMAIN_SAMPLE from "../fixtures/clerk/openapi-examples/organizationDomain.created.json" with {
  type: "json",
};
import SUBSCRIPTION_SAMPLE from "../fixtures/clerk/openapi-examples/subscription.created.json" with {
  type: "json",
};
import ITEM_SAMPLE from "../fixtures/clerk/openapi-examples/subscriptionItem.updated.json" with {
  type: "json",
};
import ATTEMPT_SAMPLE from "../fixtures/clerk/openapi-examples/paymentAttempt.updated.json" with {
  type: "json",
};
import WAITLIST_SAMPLE from "../fixtures/clerk/openapi-examples/waitlistEntry.created.json" with {
  type: "json",
};

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

/** An organization at one moment in Clerk. */
export interface OrganizationState {
  id: string;
  name?: string;
  slug?: string | null;
  publicMetadata?: Record<string, unknown>;
  /** Clerk's created_at, epoch ms. */
  createdAt?: number;
  /** Clerk's updated_at, epoch ms. */
  updatedAt: number;
}

/** An `organization.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function organizationEvent(
  type: "organization.created" | "organization.updated",
  state: OrganizationState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return {
    ...ORGANIZATION_SAMPLE,
    type,
    timestamp,
    data: {
      ...ORGANIZATION_SAMPLE.data,
      id: state.id,
      name: state.name ?? `Org ${state.id}`,
      slug: state.slug === undefined ? state.id.toLowerCase().replaceAll("_", "-") : state.slug,
      public_metadata: state.publicMetadata ?? {},
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** An `organization.deleted` as Clerk sends it (id, slug, deleted), stamped `timestamp` (ms). */
export function organizationDeletedEvent(id: string, timestamp: number): Record<string, unknown> {
  return {
    object: "event",
    type: "organization.deleted",
    instance_id: ORGANIZATION_SAMPLE.instance_id,
    timestamp,
    data: { object: "organization", id, slug: id.toLowerCase(), deleted: true },
  };
}

/** A membership at one moment in Clerk. */
export interface MembershipState {
  id: string;
  organizationId: string;
  userId: string;
  /** `org:admin`, `org:member`, or a legacy `admin` / `basic_member`. */
  role?: string;
  permissions?: string[];
  createdAt?: number;
  updatedAt: number;
}

/**
 * An `organizationMembership.created`, `.updated` or `.deleted` (which carries the whole
 * membership, with its last `updated_at`) for `state`, stamped `timestamp` (ms).
 */
export function membershipEvent(
  type:
    | "organizationMembership.created"
    | "organizationMembership.updated"
    | "organizationMembership.deleted",
  state: MembershipState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  const data = MEMBERSHIP_SAMPLE.data;
  return {
    ...MEMBERSHIP_SAMPLE,
    type,
    timestamp,
    data: {
      ...data,
      id: state.id,
      role: state.role ?? "org:member",
      role_name: (state.role ?? "org:member").includes("admin") ? "Admin" : "Member",
      permissions: state.permissions ?? data.permissions,
      organization: { ...data.organization, id: state.organizationId },
      public_user_data: { ...data.public_user_data, user_id: state.userId },
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** Who pays: a user, or an organization (Clerk then sends the payer's user_id too). */
export type PayerState = { userId: string } | { organizationId: string };

/** Clerk's payer object for `payer`: a user payer's `organization_id` is `""`, not null. */
function payerOf(payer: PayerState): Record<string, unknown> {
  return {
    ...SUBSCRIPTION_SAMPLE.data.payer,
    id: `cpayer_${"userId" in payer ? payer.userId : payer.organizationId}`,
    user_id: "userId" in payer ? payer.userId : null,
    organization_id: "organizationId" in payer ? payer.organizationId : "",
    organization_name: "organizationId" in payer ? `Org ${payer.organizationId}` : "",
  };
}

/** A subscription item at one moment in Clerk. */
export interface SubscriptionItemState {
  id: string;
  subscriptionId: string;
  payer: PayerState;
  status?: string;
  planSlug?: string;
  isFreeTrial?: boolean;
  /** Epoch ms; null on a free default plan. */
  periodEnd?: number | null;
  createdAt?: number;
  updatedAt: number;
}

/** The item as Clerk sends it: alone (with payer and subscription_id) or inside its subscription. */
function itemData(state: SubscriptionItemState, alone: boolean): Record<string, unknown> {
  const slug = state.planSlug ?? "pro-plan";
  const { payer: _payer, subscription_id: _subscription, ...item } = ITEM_SAMPLE.data;
  return {
    ...item,
    object: alone ? "subscription_item" : "commerce_subscription_item",
    id: state.id,
    status: state.status ?? "active",
    is_free_trial: state.isFreeTrial ?? false,
    plan_id: `cplan_${slug}`,
    plan: { ...ITEM_SAMPLE.data.plan, id: `cplan_${slug}`, slug, name: slug },
    period_end: state.periodEnd === undefined ? ITEM_SAMPLE.data.period_end : state.periodEnd,
    created_at: state.createdAt ?? state.updatedAt,
    updated_at: state.updatedAt,
    ...(alone
      ? { payer: payerOf(state.payer), subscription_id: state.subscriptionId }
      : { subscription_id: null }),
  };
}

/** A `subscriptionItem.*` event carrying `state` alone, stamped `timestamp` (ms). */
export function subscriptionItemEvent(
  type: string,
  state: SubscriptionItemState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return { ...ITEM_SAMPLE, type, timestamp, data: itemData(state, true) };
}

/** A subscription at one moment in Clerk, with its items as they are then. */
export interface SubscriptionState {
  id: string;
  payer: PayerState;
  status?: string;
  items: Omit<SubscriptionItemState, "subscriptionId" | "payer">[];
  createdAt?: number;
  updatedAt: number;
}

/** A `subscription.*` event carrying `state` and its items, stamped `timestamp` (ms). */
export function subscriptionEvent(
  type: string,
  state: SubscriptionState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  const { id, payer } = state;
  return {
    ...SUBSCRIPTION_SAMPLE,
    type,
    timestamp,
    data: {
      ...SUBSCRIPTION_SAMPLE.data,
      id,
      status: state.status ?? "active",
      payer_id: `cpayer_${"userId" in payer ? payer.userId : payer.organizationId}`,
      payer: payerOf(payer),
      items: state.items.map((item) => itemData({ ...item, subscriptionId: id, payer }, false)),
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** A payment attempt at one moment in Clerk. */
export interface PaymentAttemptState {
  id: string;
  payer: PayerState;
  /** pending, paid or failed. */
  status?: string;
  createdAt?: number;
  updatedAt: number;
}

/** A `paymentAttempt.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function paymentAttemptEvent(
  type: "paymentAttempt.created" | "paymentAttempt.updated",
  state: PaymentAttemptState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  const status = state.status ?? "paid";
  const { payer } = state;
  return {
    ...ATTEMPT_SAMPLE,
    type,
    timestamp,
    data: {
      ...ATTEMPT_SAMPLE.data,
      id: state.id,
      status,
      paid_at: status === "paid" ? state.updatedAt : null,
      failed_at: status === "failed" ? state.updatedAt : null,
      failed_reason: status === "failed" ? "card_declined" : null,
      payer: {
        ...ATTEMPT_SAMPLE.data.payer,
        id: `cpayer_${"userId" in payer ? payer.userId : payer.organizationId}`,
        user_id: "userId" in payer ? payer.userId : null,
        ...("organizationId" in payer ? { organization_id: payer.organizationId } : {}),
      },
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** A waitlist entry at one moment in Clerk. */
export interface WaitlistEntryState {
  id: string;
  emailAddress: string;
  /** pending, invited, completed or rejected. */
  status?: string;
  createdAt?: number;
  updatedAt: number;
}

/** A `waitlistEntry.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function waitlistEntryEvent(
  type: "waitlistEntry.created" | "waitlistEntry.updated",
  state: WaitlistEntryState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return {
    ...WAITLIST_SAMPLE,
    type,
    timestamp,
    data: {
      ...WAITLIST_SAMPLE.data,
      id: state.id,
      email_address: state.emailAddress,
      status: state.status ?? "pending",
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** An invitation at one moment in Clerk. */
export interface InvitationState {
  id: string;
  organizationId: string;
  email?: string;
  role?: string;
  /** Clerk user id of the invitee, once accepted. */
  userId?: string | null;
  expiresAt?: number | null;
  privateMetadata?: Record<string, unknown>;
  createdAt?: number;
  updatedAt: number;
}

/** The status each invitation event leaves. */
const INVITATION_STATUS = {
  "organizationInvitation.created": "pending",
  "organizationInvitation.accepted": "accepted",
  "organizationInvitation.revoked": "revoked",
} as const;

/**
 * An `organizationInvitation.created`, `.accepted` or `.revoked` carrying `state` (its
 * status that of the type), stamped `timestamp` (ms).
 */
export function invitationEvent(
  type: keyof typeof INVITATION_STATUS,
  state: InvitationState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return {
    ...INVITATION_SAMPLE,
    type,
    timestamp,
    data: {
      ...INVITATION_SAMPLE.data,
      id: state.id,
      organization_id: state.organizationId,
      email_address: state.email ?? `${state.id}@example.com`,
      role: state.role ?? "org:member",
      status: INVITATION_STATUS[type],
      ...(state.userId ? { user_id: state.userId } : {}),
      private_metadata: state.privateMetadata ?? {},
      expires_at: state.expiresAt === undefined
        ? state.updatedAt + 7 * 86_400_000
        : state.expiresAt,
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** A role at one moment in Clerk. */
export interface RoleState {
  id: string;
  key: string;
  name?: string;
  /** The keys of the permissions it grants. */
  permissions: string[];
  createdAt?: number;
  updatedAt: number;
}

/** A `role.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function roleEvent(
  type: "role.created" | "role.updated",
  state: RoleState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  const [sample] = ROLE_SAMPLE.data.permissions;
  return {
    ...ROLE_SAMPLE,
    type,
    timestamp,
    data: {
      ...ROLE_SAMPLE.data,
      id: state.id,
      key: state.key,
      name: state.name ?? `Role ${state.key}`,
      permissions: state.permissions.map((key) => ({
        ...sample,
        id: `perm_${key.replaceAll(":", "_")}`,
        key,
        name: key,
      })),
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** A permission at one moment in Clerk. */
export interface PermissionState {
  id: string;
  key: string;
  name?: string;
  createdAt?: number;
  updatedAt: number;
}

/** A `permission.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function permissionEvent(
  type: "permission.created" | "permission.updated",
  state: PermissionState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return {
    ...PERMISSION_SAMPLE,
    type,
    timestamp,
    data: {
      ...PERMISSION_SAMPLE.data,
      id: state.id,
      key: state.key,
      name: state.name ?? `Permission ${state.key}`,
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** An organization domain at one moment in Clerk. */
export interface DomainState {
  id: string;
  organizationId: string;
  name?: string;
  enrollmentMode?: string;
  verified?: boolean;
  createdAt?: number;
  updatedAt: number;
}

/** An `organizationDomain.created` or `.updated` carrying `state`, stamped `timestamp` (ms). */
export function domainEvent(
  type: "organizationDomain.created" | "organizationDomain.updated",
  state: DomainState,
  timestamp: number = state.updatedAt,
): Record<string, unknown> {
  return {
    ...DOMAIN_SAMPLE,
    type,
    timestamp,
    data: {
      ...DOMAIN_SAMPLE.data,
      id: state.id,
      organization_id: state.organizationId,
      name: state.name ?? `${state.id}.example.com`,
      enrollment_mode: state.enrollmentMode ?? "automatic_invitation",
      verification: state.verified
        ? { status: "verified", strategy: "email_code", attempts: 1, expire_at: null }
        : null,
      created_at: state.createdAt ?? state.updatedAt,
      updated_at: state.updatedAt,
    },
  };
}

/** The `object` of each delete that carries only an id (no `updated_at`). */
const DELETED_OBJECTS = {
  "role.deleted": "role",
  "permission.deleted": "permission",
  "organizationDomain.deleted": "organization_domain",
} as const;

/** A `role.deleted`, `permission.deleted` or `organizationDomain.deleted` as Clerk sends it. */
export function objectDeletedEvent(
  type: keyof typeof DELETED_OBJECTS,
  id: string,
  timestamp: number,
): Record<string, unknown> {
  return {
    object: "event",
    type,
    instance_id: ROLE_SAMPLE.instance_id,
    timestamp,
    data: { object: DELETED_OBJECTS[type], id, deleted: true },
  };
}
