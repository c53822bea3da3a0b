/**
 * Seeded Clerk histories for convergence tests: a small model of a Clerk instance
 * (users, their email addresses, names, image, username, phones, public metadata and
 * ban state; organizations, memberships, invitations, roles, permissions and domains)
 * mutated at random, recording the webhook event Clerk emits for each
 * mutation and Clerk's state at the end. Some users are held by an app's foreign key
 * (their ids end in `_held`): once deleted, their row may stay, erased.
 *
 * The model keeps Clerk's rule that an address belongs to at most one user at any
 * instant, so moves and swaps of addresses take several steps, as they do in Clerk.
 * Billing (subscriptions with their items, items alone, payment attempts) and the
 * waitlist change besides, each object ordered by its own `updated_at`.
 */
import { shuffle } from "../../dev/shuffle.ts";
import {
  deletedEvent,
  domainEvent,
  invitationEvent,
  membershipEvent,
  objectDeletedEvent,
  organizationDeletedEvent,
  organizationEvent,
  type PayerState,
  paymentAttemptEvent,
  permissionEvent,
  roleEvent,
  subscriptionEvent,
  subscriptionItemEvent,
  userEvent,
  waitlistEntryEvent,
} from "../../dev/clerk_events.ts";

/** A seeded pseudo-random generator (mulberry32): one seed, one sequence. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, `n`). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`, which must not be empty. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[this.int(items.length)]!;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    return shuffle(items, (n) => this.int(n));
  }
}

/** One webhook event of a history, as Clerk emits it. */
export interface HistoryEvent {
  /** Position in the history; Clerk's clock increases with it. */
  index: number;
  /** The svix-id every delivery of this event carries. */
  svixId: string;
  type: string;
  /** The label of what it is about in the history (`u0`, `o1`, `m2`, …), for reports. */
  user: string;
  clerkId: string;
  /** The envelope, shaped like Clerk's. */
  payload: Record<string, unknown>;
  /** What changed, for reports: no email address or name, only labels. */
  change: string;
  /** The user's synced columns after the event; null once deleted. */
  state: SyncedUser | null;
  /** An app's row references the user's row (its id ends in `_held`). */
  held: boolean;
  /** Every address the user holds after the event, primary or not. */
  addresses: readonly string[];
  /** For an organization's event: its synced columns after it; null once deleted. */
  organization?: SyncedOrganization | null;
  /** For a membership's event: its synced columns after it; null once removed. */
  membership?: SyncedMembership | null;
  /** For a billing or waitlist event: every object it carries (a subscription's items too). */
  billing?: SyncedBillingRow[];
  /**
   * For an invitation's, a role's, a permission's or a domain's event: its table (a key
   * of ClerkState) and its synced columns after it; null once deleted.
   */
  other?: { kind: OtherKind; row: SyncedOther | null };
}

/** The entities compared as plain rows: each one's list in ClerkState. */
export type OtherKind = "invitations" | "roles" | "permissions" | "domains";

/**
 * A row of public.organization_invitations, _roles, _permissions or _domains as Clerk's
 * state dictates it: `clerk_id` first, then the compared columns in the order
 * convergence_test.ts reads them, `clerk_updated_at` last; `organization_id` for the
 * two that go with their organization.
 */
export interface SyncedOther {
  clerk_id: string;
  organization_id?: string;
  [column: string]: unknown;
}

/** A row of a billing or waitlist table as Clerk's state dictates it (the compared columns). */
export interface SyncedBillingRow {
  clerk_id: string;
  status: string;
  clerk_updated_at: Date;
}

/** A row of public.organizations as Clerk's state dictates it (the compared columns). */
export interface SyncedOrganization {
  clerk_id: string;
  name: string;
  slug: string | null;
  clerk_updated_at: Date;
}

/** A row of public.organization_memberships as Clerk's state dictates it. */
export interface SyncedMembership {
  clerk_id: string;
  organization_id: string;
  user_id: string;
  role: string;
  clerk_updated_at: Date;
}

/** Clerk's state at one point of a history, each list ordered by `clerk_id` in byte order. */
export interface ClerkState {
  users: SyncedUser[];
  organizations: SyncedOrganization[];
  memberships: SyncedMembership[];
  /** Subscriptions, subscription items, payment attempts and waitlist entries. */
  billing: SyncedBillingRow[];
  invitations: SyncedOther[];
  roles: SyncedOther[];
  permissions: SyncedOther[];
  domains: SyncedOther[];
}

/** A row of public.users as Clerk's state dictates it (the synced columns). */
export interface SyncedUser {
  clerk_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  username: string | null;
  phone_number: string | null;
  public_metadata: Record<string, unknown>;
  banned: boolean;
  /** Deleted in Clerk, the row kept for an app's reference, erased. */
  deleted: boolean;
  clerk_created_at: Date;
  clerk_updated_at: Date;
}

/** The columns an erased row keeps from the person: none. */
export const ERASED = {
  email: null,
  first_name: null,
  last_name: null,
  image_url: null,
  username: null,
  phone_number: null,
  public_metadata: {},
  deleted: true,
} as const;

/** A generated history: its events in Clerk's order, and Clerk's state after the last. */
export interface ClerkHistory {
  seed: number;
  /** In every Clerk id and address of the history, and no other history's. */
  tag: string;
  /** Every user id of the history starts with it. */
  clerkIdPrefix: string;
  events: HistoryEvent[];
  /** Clerk's state after the last event: {@linkcode stateAfter} all events. */
  final: ClerkState;
}

/** One Clerk organization in the model. */
interface ModelOrganization {
  label: string;
  id: string;
  name: string;
  slug: string | null;
  createdAt: number;
  updatedAt: number;
  alive: boolean;
}

/** One Clerk membership in the model. */
interface ModelMembership {
  label: string;
  id: string;
  organization: ModelOrganization;
  user: ModelUser;
  role: string;
  createdAt: number;
  updatedAt: number;
  alive: boolean;
}

/**
 * One invitation, role, permission or domain in the model: its synced columns as
 * SyncedOther has them, but for `clerk_updated_at`.
 */
interface ModelOther {
  kind: OtherKind;
  label: string;
  id: string;
  organization: ModelOrganization | null;
  columns: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  alive: boolean;
}

/** One object of Clerk Billing or of the waitlist in the model (Clerk never deletes one). */
interface ModelBilling {
  label: string;
  id: string;
  status: string;
  createdAt: number;
  updatedAt: number;
}

/** One subscription in the model: its payer and its items. */
interface ModelSubscription extends ModelBilling {
  payer: PayerState;
  items: (ModelBilling & { planSlug: string })[];
}

/** Item event types and the status each leaves (`.updated` and `.freeTrialEnding` keep it). */
const ITEM_CHANGES: [type: string, status: string | null][] = [
  ["subscriptionItem.active", "active"],
  ["subscriptionItem.canceled", "canceled"],
  ["subscriptionItem.upcoming", "upcoming"],
  ["subscriptionItem.ended", "ended"],
  ["subscriptionItem.abandoned", "abandoned"],
  ["subscriptionItem.incomplete", "incomplete"],
  ["subscriptionItem.pastDue", "past_due"],
  ["subscriptionItem.freeTrialEnding", null],
  ["subscriptionItem.updated", null],
  ["subscriptionItem.created", "active"],
];

/** Subscription event types besides `.created`, and the status each leaves. */
const SUBSCRIPTION_CHANGES: [type: string, status: string | null][] = [
  ["subscription.updated", null],
  ["subscription.active", "active"],
  ["subscription.pastDue", "past_due"],
];

/** One Clerk user in the model. */
interface ModelUser {
  label: string;
  id: string;
  /** The user's addresses; `primary` is one of them or null. */
  addresses: string[];
  primary: string | null;
  firstName: string | null;
  lastName: string | null;
  imageUrl: string;
  username: string | null;
  /** The user's phone numbers; `phone` is one of them or null. */
  phones: string[];
  phone: string | null;
  publicMetadata: Record<string, unknown>;
  banned: boolean;
  createdAt: number;
  updatedAt: number;
  alive: boolean;
}

const FIRST_NAMES = ["Ada", "Grace", "Zoë", "José", "Łukasz", "美咲", "O'Brien", "Ngozi"];
const LAST_NAMES = ["Lovelace", "Hopper", "Núñez", "van der Berg", "Søndergaard", "李"];
const MAX_LIVE_USERS = 8;
/** Clerk's clock when every history starts, give or take a second. */
const START = Date.UTC(2025, 0, 1);

/**
 * Generates the history of `seed`: 2 to 5 users created, then 10 to 49 random
 * mutations (created users, renames and null names, new images, addresses added,
 * removed or made primary, primary addresses swapped between two users in three
 * steps, deletions), new users often taking addresses that others let go. Each event
 * has its own svix-id, a Clerk `updated_at` later than every earlier event's, and an
 * envelope timestamp 0 to 2 ms after it.
 */
export function generateHistory(seed: number): ClerkHistory {
  const random = new Random(seed);
  // In every id and address: histories of different seeds can share a database.
  const tag = `s${seed}`;
  const clerkIdPrefix = `user_${tag}_`;
  const users: ModelUser[] = [];
  const organizations: ModelOrganization[] = [];
  const memberships: ModelMembership[] = [];
  const objects: ModelOther[] = [];
  const events: HistoryEvent[] = [];
  /** Slugs that an organization let go, which Clerk lets another take. */
  const freedSlugs: string[] = [];
  let slugCount = 0;
  /** Addresses that a user let go, which Clerk lets anyone take. */
  const freed: string[] = [];
  let addressCount = 0;
  let clock = START + random.int(1000);

  const live = () => users.filter((user) => user.alive);
  const name = (names: readonly string[]) => random.chance(0.25) ? null : random.pick(names);
  const others = (user: ModelUser) => user.addresses.filter((address) => address !== user.primary);
  // A realistic mix: most events seconds apart, some a few milliseconds apart.
  const tick = () => clock += 3 + random.int(random.chance(0.3) ? 20 : 5000);

  let phoneCount = 0;
  const newPhone = () => `+1555${String(seed % 1000).padStart(3, "0")}${phoneCount++}`;

  function takeAddress(): string {
    if (freed.length > 0 && random.chance(0.6)) {
      return freed.splice(random.int(freed.length), 1)[0]!;
    }
    return `mail${addressCount++}.${tag}@example.com`;
  }

  function release(user: ModelUser, address: string): void {
    user.addresses = user.addresses.filter((owned) => owned !== address);
    if (user.primary === address) user.primary = null;
    freed.push(address);
  }

  function emit(type: "user.created" | "user.updated", user: ModelUser, change: string): void {
    user.updatedAt = tick();
    // Clerk's user.created carries equal created_at and updated_at.
    if (type === "user.created") user.createdAt = user.updatedAt;
    const payload = userEvent(type, {
      id: user.id,
      email: user.primary,
      otherEmails: others(user),
      firstName: user.firstName,
      lastName: user.lastName,
      imageUrl: user.imageUrl,
      username: user.username,
      phone: user.phone,
      otherPhones: user.phones.filter((phone) => phone !== user.phone),
      publicMetadata: user.publicMetadata,
      banned: user.banned,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    }, user.updatedAt + random.int(3));
    record(type, user, payload, change);
  }

  function record(
    type: HistoryEvent["type"],
    user: ModelUser,
    payload: Record<string, unknown>,
    change: string,
  ): void {
    const index = events.length;
    events.push({
      index,
      svixId: `msg_${tag}_e${index}`,
      type,
      user: user.label,
      clerkId: user.id,
      payload,
      change,
      state: user.alive
        ? {
          clerk_id: user.id,
          email: user.primary,
          first_name: user.firstName,
          last_name: user.lastName,
          image_url: user.imageUrl,
          username: user.username,
          phone_number: user.phone,
          public_metadata: user.publicMetadata,
          banned: user.banned,
          deleted: false,
          clerk_created_at: new Date(user.createdAt),
          clerk_updated_at: new Date(user.updatedAt),
        }
        : null,
      held: user.id.endsWith("_held"),
      addresses: [...user.addresses],
    });
  }

  function recordOther(
    type: string,
    label: string,
    clerkId: string,
    payload: Record<string, unknown>,
    change: string,
    about: Pick<HistoryEvent, "organization" | "membership" | "billing" | "other">,
  ): void {
    const index = events.length;
    events.push({
      index,
      svixId: `msg_${tag}_e${index}`,
      type,
      user: label,
      clerkId,
      payload,
      change,
      state: null,
      held: false,
      addresses: [],
      ...about,
    });
  }

  const subscriptions: ModelSubscription[] = [];
  const attempts: ModelBilling[] = [];
  const waitlist: ModelBilling[] = [];
  const synced = (object: ModelBilling): SyncedBillingRow => ({
    clerk_id: object.id,
    status: object.status,
    clerk_updated_at: new Date(object.updatedAt),
  });
  const items = () => subscriptions.flatMap((subscription) => subscription.items);

  /** A subscription event: the subscription and each item as they are now. */
  function emitSubscription(type: string, subscription: ModelSubscription, change: string): void {
    subscription.updatedAt = tick();
    if (type === "subscription.created") subscription.createdAt = subscription.updatedAt;
    const payload = subscriptionEvent(type, {
      id: subscription.id,
      payer: subscription.payer,
      status: subscription.status,
      items: subscription.items.map((item) => ({
        id: item.id,
        status: item.status,
        planSlug: item.planSlug,
        createdAt: item.createdAt,
        updatedAt: item.updatedAt,
      })),
      createdAt: subscription.createdAt,
      updatedAt: subscription.updatedAt,
    }, subscription.updatedAt + random.int(3));
    recordOther(type, subscription.label, subscription.id, payload, change, {
      billing: [synced(subscription), ...subscription.items.map(synced)],
    });
  }

  function newItem(subscription: ModelSubscription): void {
    const label = `${subscription.label}i${subscription.items.length}`;
    const at = tick();
    subscription.items.push({
      label,
      id: `csub_item_${tag}_${label}`,
      status: random.chance(0.8) ? "active" : "upcoming",
      planSlug: random.pick(["free", "pro", "team"]),
      createdAt: at,
      updatedAt: at,
    });
  }

  function createSubscription(): void {
    const label = `b${subscriptions.length}`;
    const subscription: ModelSubscription = {
      label,
      id: `csub_${tag}_${label}`,
      payer: random.chance(0.5)
        ? { userId: `user_${tag}_payer${label}` }
        : { organizationId: `org_${tag}_payer${label}` },
      status: "active",
      items: [],
      createdAt: 0,
      updatedAt: 0,
    };
    subscriptions.push(subscription);
    newItem(subscription);
    if (random.chance(0.4)) newItem(subscription);
    emitSubscription("subscription.created", subscription, "subscription created");
  }

  /** A payment attempt or a waitlist entry: created, or a later state of one. */
  function emitSimple(
    kind: "paymentAttempt" | "waitlistEntry",
    objects: ModelBilling[],
    statuses: readonly string[],
  ): void {
    const creating = objects.length === 0 || random.chance(0.4);
    const object: ModelBilling = creating
      ? {
        label: `${kind === "paymentAttempt" ? "p" : "w"}${objects.length}`,
        id: `${kind === "paymentAttempt" ? "pa" : "wle"}_${tag}_${objects.length}`,
        status: statuses[0]!,
        createdAt: 0,
        updatedAt: 0,
      }
      : random.pick(objects);
    if (creating) objects.push(object);
    else object.status = random.pick(statuses.slice(1));
    object.updatedAt = tick();
    if (creating) object.createdAt = object.updatedAt;
    const type = `${kind}.${creating ? "created" : "updated"}` as const;
    const state = {
      id: object.id,
      status: object.status,
      createdAt: object.createdAt,
      updatedAt: object.updatedAt,
    };
    const timestamp = object.updatedAt + random.int(3);
    const payload = kind === "paymentAttempt"
      ? paymentAttemptEvent(type as "paymentAttempt.created", {
        ...state,
        payer: { userId: `user_${tag}_payer${object.label}` },
      }, timestamp)
      : waitlistEntryEvent(type as "waitlistEntry.created", {
        ...state,
        emailAddress: `${object.label}.${tag}@example.com`,
      }, timestamp);
    recordOther(type, object.label, object.id, payload, `${kind} ${object.status}`, {
      billing: [synced(object)],
    });
  }

  const liveOrganizations = () => organizations.filter((org) => org.alive);
  const liveOthers = (kind: OtherKind, which: (other: ModelOther) => boolean = () => true) =>
    objects.filter((other) => other.alive && other.kind === kind && which(other));

  /** The event of `other`'s current state, of `type`, recorded with its synced row. */
  function emitOther(type: string, other: ModelOther, change: string): void {
    other.updatedAt = tick();
    if (type.endsWith(".created")) other.createdAt = other.updatedAt;
    const times = { createdAt: other.createdAt, updatedAt: other.updatedAt };
    const at = other.updatedAt + random.int(3);
    const c = other.columns;
    const org = other.organization?.id ?? "";
    const payload = other.kind === "invitations"
      ? invitationEvent(type as Parameters<typeof invitationEvent>[0], {
        id: other.id,
        organizationId: org,
        userId: c.user_id as string | null,
        ...times,
      }, at)
      : other.kind === "roles"
      ? roleEvent(type as "role.created" | "role.updated", {
        id: other.id,
        key: c.key as string,
        permissions: c.permissions as string[],
        ...times,
      }, at)
      : other.kind === "permissions"
      ? permissionEvent(type as "permission.created" | "permission.updated", {
        id: other.id,
        key: c.key as string,
        name: c.name as string,
        ...times,
      }, at)
      : domainEvent(type as "organizationDomain.created" | "organizationDomain.updated", {
        id: other.id,
        organizationId: org,
        enrollmentMode: c.enrollment_mode as string,
        verified: c.verification_status === "verified",
        ...times,
      }, at);
    recordOther(type, other.label, other.id, payload, change, {
      other: {
        kind: other.kind,
        row: {
          clerk_id: other.id,
          ...other.columns,
          clerk_updated_at: new Date(other.updatedAt),
        },
      },
    });
  }

  /** Ends `other`; with `type`, Clerk sends its delete (ordered by the envelope timestamp). */
  function removeOther(
    other: ModelOther,
    change: string,
    type?: "role.deleted" | "permission.deleted" | "organizationDomain.deleted",
  ): void {
    other.alive = false;
    if (type === undefined) return;
    const payload = objectDeletedEvent(type, other.id, tick() + random.int(3));
    recordOther(type, other.label, other.id, payload, change, {
      other: { kind: other.kind, row: null },
    });
  }

  /** A new invitation, role, permission or domain, with its first columns. */
  function createOther(
    kind: OtherKind,
    prefix: string,
    type: string,
    organization: ModelOrganization | null,
    columns: Record<string, unknown>,
  ): void {
    const label = `${prefix}${objects.filter((other) => other.kind === kind).length}`;
    const other: ModelOther = {
      kind,
      label,
      id: `${
        { invitations: "orginv", roles: "role", permissions: "perm", domains: "orgdmn" }[kind]
      }_${tag}_${label}`,
      organization,
      columns: organization === null ? columns : { organization_id: organization.id, ...columns },
      createdAt: 0,
      updatedAt: 0,
      alive: true,
    };
    objects.push(other);
    emitOther(type, other, `${kind.slice(0, -1)} created`);
  }

  const PERMISSION_KEYS = ["org:posts:read", "org:posts:write", "org:billing:manage"];
  const somePermissions = () => PERMISSION_KEYS.filter(() => random.chance(0.5));
  const liveMemberships = () => memberships.filter((membership) => membership.alive);
  const takeSlug = () =>
    freedSlugs.length > 0 && random.chance(0.6)
      ? freedSlugs.splice(random.int(freedSlugs.length), 1)[0]!
      : `${tag}-slug-${slugCount++}`;

  function emitOrganization(
    type: "organization.created" | "organization.updated",
    org: ModelOrganization,
    change: string,
  ): void {
    org.updatedAt = tick();
    if (type === "organization.created") org.createdAt = org.updatedAt;
    const payload = organizationEvent(type, {
      id: org.id,
      name: org.name,
      slug: org.slug,
      createdAt: org.createdAt,
      updatedAt: org.updatedAt,
    }, org.updatedAt + random.int(3));
    recordOther(type, org.label, org.id, payload, change, {
      organization: {
        clerk_id: org.id,
        name: org.name,
        slug: org.slug,
        clerk_updated_at: new Date(org.updatedAt),
      },
    });
  }

  function emitMembership(
    type: "organizationMembership.created" | "organizationMembership.updated",
    membership: ModelMembership,
    change: string,
  ): void {
    membership.updatedAt = tick();
    if (type === "organizationMembership.created") membership.createdAt = membership.updatedAt;
    const payload = membershipEvent(type, {
      id: membership.id,
      organizationId: membership.organization.id,
      userId: membership.user.id,
      role: membership.role,
      createdAt: membership.createdAt,
      updatedAt: membership.updatedAt,
    }, membership.updatedAt + random.int(3));
    recordOther(type, membership.label, membership.id, payload, change, {
      membership: {
        clerk_id: membership.id,
        organization_id: membership.organization.id,
        user_id: membership.user.id,
        role: membership.role,
        clerk_updated_at: new Date(membership.updatedAt),
      },
    });
  }

  /** Ends `membership`; Clerk may or may not send its own delete when its org or user goes. */
  function removeMembership(membership: ModelMembership, change: string, sent: boolean): void {
    membership.alive = false;
    if (!sent) return;
    const payload = membershipEvent("organizationMembership.deleted", {
      id: membership.id,
      organizationId: membership.organization.id,
      userId: membership.user.id,
      role: membership.role,
      createdAt: membership.createdAt,
      updatedAt: membership.updatedAt,
    }, tick() + random.int(3));
    recordOther(
      "organizationMembership.deleted",
      membership.label,
      membership.id,
      payload,
      change,
      {
        membership: null,
      },
    );
  }

  function createOrganization(): void {
    const label = `o${organizations.length}`;
    const org: ModelOrganization = {
      label,
      id: `org_${tag}_${label}`,
      name: `Org ${label}`,
      slug: random.chance(0.1) ? null : takeSlug(),
      createdAt: 0,
      updatedAt: 0,
      alive: true,
    };
    organizations.push(org);
    emitOrganization("organization.created", org, "organization created");
  }

  function addMember(org: ModelOrganization, user: ModelUser, change: string): void {
    const label = `m${memberships.length}`;
    const membership: ModelMembership = {
      label,
      id: `orgmem_${tag}_${label}`,
      organization: org,
      user,
      role: random.chance(0.3) ? "org:admin" : "org:member",
      createdAt: 0,
      updatedAt: 0,
      alive: true,
    };
    memberships.push(membership);
    emitMembership("organizationMembership.created", membership, change);
  }

  /** Pairs of a live organization and a live user that are not members yet. */
  const outsiders = () =>
    liveOrganizations().flatMap((org) =>
      live().filter((user) =>
        !liveMemberships().some((m) => m.organization === org && m.user === user)
      ).map((user) => [org, user] as const)
    );

  function create(): void {
    const label = `u${users.length}`;
    const addresses = Array.from(
      { length: random.chance(0.15) ? 0 : 1 + random.int(2) },
      takeAddress,
    );
    const phones = random.chance(0.5) ? [newPhone()] : [];
    const user: ModelUser = {
      label,
      id: `${clerkIdPrefix}${label}${random.chance(0.3) ? "_held" : ""}`,
      addresses,
      primary: addresses.length === 0 ? null : random.pick(addresses),
      firstName: name(FIRST_NAMES),
      lastName: name(LAST_NAMES),
      imageUrl: `https://img.clerk.com/${tag}/${label}/0`,
      username: random.chance(0.5) ? null : `${label}_${tag}`,
      phones,
      phone: phones[0] ?? null,
      publicMetadata: {},
      banned: false,
      createdAt: 0,
      updatedAt: 0,
      alive: true,
    };
    users.push(user);
    emit("user.created", user, `created with ${addresses.length} address(es)`);
  }

  /** The mutations of one step, each applicable when its guard holds. */
  /** Deletes `user` in Clerk, its memberships with it. */
  const deleteUser = (user: ModelUser) => {
    user.alive = false;
    for (const address of [...user.addresses]) release(user, address);
    for (const membership of liveMemberships().filter((m) => m.user === user)) {
      removeMembership(membership, "removed with its user", random.chance(0.5));
    }
    record("user.deleted", user, deletedEvent(user.id, tick() + random.int(3)), "deleted");
  };

  const mutations: [weight: number, guard: () => boolean, run: () => void][] = [
    [2, () => live().length < MAX_LIVE_USERS, create],
    [3, () => live().length > 0, () => {
      const user = random.pick(live());
      user.firstName = name(FIRST_NAMES);
      user.lastName = name(LAST_NAMES);
      emit("user.updated", user, "names set, maybe to null");
    }],
    [1, () => live().length > 0, () => {
      const user = random.pick(live());
      user.imageUrl = user.imageUrl.replace(/\d+$/, (n) => String(Number(n) + 1));
      emit("user.updated", user, "new image");
    }],
    [3, () => live().length > 0, () => {
      const user = random.pick(live());
      const address = takeAddress();
      user.addresses.push(address);
      const makePrimary = random.chance(0.6);
      if (makePrimary) user.primary = address;
      emit("user.updated", user, makePrimary ? "address added as primary" : "address added");
    }],
    [2, () => live().some((user) => others(user).length > 0), () => {
      const user = random.pick(live().filter((user) => others(user).length > 0));
      user.primary = random.pick(others(user));
      emit("user.updated", user, "primary switched to another address");
    }],
    [3, () => live().some((user) => user.addresses.length > 0), () => {
      const user = random.pick(live().filter((user) => user.addresses.length > 0));
      const address = random.pick(user.addresses);
      const wasPrimary = address === user.primary;
      release(user, address);
      if (wasPrimary && user.addresses.length > 0 && random.chance(0.5)) {
        user.primary = random.pick(user.addresses);
      }
      emit("user.updated", user, wasPrimary ? "primary address removed" : "address removed");
    }],
    [2, () => live().filter((user) => user.primary !== null).length >= 2, swapPrimaries],
    [2, () => live().length > 0, () => {
      const user = random.pick(live());
      user.username = user.username === null || random.chance(0.5)
        ? `${user.label}_${random.int(100)}_${tag}`
        : null;
      emit("user.updated", user, user.username === null ? "username cleared" : "username set");
    }],
    [2, () => live().length > 0, () => {
      const user = random.pick(live());
      if (user.phone !== null && random.chance(0.3)) {
        user.phones = user.phones.filter((phone) => phone !== user.phone);
        user.phone = null;
        emit("user.updated", user, "phone removed");
      } else {
        const phone = newPhone();
        user.phones.push(phone);
        user.phone = phone;
        emit("user.updated", user, "phone switched");
      }
    }],
    [2, () => live().length > 0, () => {
      const user = random.pick(live());
      user.publicMetadata = random.chance(0.3)
        ? {}
        : { role: random.pick(["admin", "member", "owner"]), seats: random.int(50) };
      emit("user.updated", user, "public metadata changed");
    }],
    [1, () => live().length > 0, () => {
      const user = random.pick(live());
      user.banned = !user.banned;
      emit("user.updated", user, user.banned ? "banned" : "unbanned");
    }],
    [1, () => liveOrganizations().length < 4, createOrganization],
    [1, () => liveOrganizations().length > 0, () => {
      const org = random.pick(liveOrganizations());
      if (org.slug !== null) freedSlugs.push(org.slug);
      org.slug = random.chance(0.2) ? null : takeSlug();
      org.name = `Org ${org.label} ${random.int(100)}`;
      emitOrganization("organization.updated", org, "slug and name changed");
    }],
    [3, () => outsiders().length > 0, () => {
      const [org, user] = random.pick(outsiders());
      const before = memberships.some((m) => m.organization === org && m.user === user);
      addMember(org, user, before ? "member re-added" : "member added");
    }],
    [2, () => liveMemberships().length > 0, () => {
      const membership = random.pick(liveMemberships());
      membership.role = membership.role === "org:admin" ? "org:member" : "org:admin";
      emitMembership("organizationMembership.updated", membership, "role changed");
    }],
    [2, () => liveMemberships().length > 0, () => {
      removeMembership(random.pick(liveMemberships()), "member removed", true);
    }],
    [1, () => liveOrganizations().length > 0, () => {
      const org = random.pick(liveOrganizations());
      org.alive = false;
      if (org.slug !== null) freedSlugs.push(org.slug);
      for (const membership of liveMemberships().filter((m) => m.organization === org)) {
        removeMembership(membership, "removed with its organization", random.chance(0.5));
      }
      // Clerk sends no invitation delete; whether it sends a domain's is not documented.
      const invitations = liveOthers("invitations", (i) => i.organization === org);
      for (const invitation of invitations) {
        removeOther(invitation, "invitation removed with its organization");
      }
      for (const domain of liveOthers("domains", (d) => d.organization === org)) {
        removeOther(
          domain,
          "domain removed with its organization",
          random.chance(0.5) ? "organizationDomain.deleted" : undefined,
        );
      }
      recordOther(
        "organization.deleted",
        org.label,
        org.id,
        organizationDeletedEvent(org.id, tick() + random.int(3)),
        invitations.length > 0 ? "organization deleted, with invitations" : "organization deleted",
        { organization: null },
      );
    }],
    [1, () => liveOrganizations().length > 0, () => {
      createOther(
        "invitations",
        "i",
        "organizationInvitation.created",
        random.pick(liveOrganizations()),
        {
          status: "pending",
          user_id: null,
        },
      );
    }],
    [1, () => liveOthers("invitations", (i) => i.columns.status === "pending").length > 0, () => {
      const invitation = random.pick(
        liveOthers("invitations", (i) => i.columns.status === "pending"),
      );
      const accepted = random.chance(0.5);
      invitation.columns = {
        ...invitation.columns,
        status: accepted ? "accepted" : "revoked",
        user_id: accepted ? random.pick(live()).id : null,
      };
      emitOther(
        accepted ? "organizationInvitation.accepted" : "organizationInvitation.revoked",
        invitation,
        accepted ? "invitation accepted" : "invitation revoked",
      );
    }],
    [1, () => liveOthers("roles").length < 3, () => {
      const key = `org:${tag}_r${objects.filter((other) => other.kind === "roles").length}`;
      createOther("roles", "r", "role.created", null, { key, permissions: somePermissions() });
    }],
    [1, () => liveOthers("roles").length > 0, () => {
      const role = random.pick(liveOthers("roles"));
      role.columns = { ...role.columns, permissions: somePermissions() };
      emitOther("role.updated", role, "role permissions changed");
    }],
    [1, () => liveOthers("permissions").length < 3, () => {
      const key = `org:${tag}:p${objects.filter((other) => other.kind === "permissions").length}`;
      createOther("permissions", "p", "permission.created", null, { key, name: `${key} 0` });
    }],
    [1, () => liveOthers("permissions").length > 0, () => {
      const permission = random.pick(liveOthers("permissions"));
      permission.columns = {
        ...permission.columns,
        name: `${permission.columns.key} ${random.int(100)}`,
      };
      emitOther("permission.updated", permission, "permission renamed");
    }],
    [1, () => liveOthers("domains").length < 3 && liveOrganizations().length > 0, () => {
      createOther("domains", "d", "organizationDomain.created", random.pick(liveOrganizations()), {
        enrollment_mode: "manual_invitation",
        verification_status: null,
      });
    }],
    [1, () => liveOthers("domains").length > 0, () => {
      const domain = random.pick(liveOthers("domains"));
      domain.columns = {
        ...domain.columns,
        enrollment_mode: random.pick(["automatic_invitation", "automatic_suggestion"]),
        verification_status: "verified",
      };
      emitOther("organizationDomain.updated", domain, "domain verified");
    }],
    [1, () => objects.some((other) => other.alive && other.kind !== "invitations"), () => {
      const other = random.pick(objects.filter((o) => o.alive && o.kind !== "invitations"));
      const type = ({
        roles: "role.deleted",
        permissions: "permission.deleted",
        domains: "organizationDomain.deleted",
      } as const)[other.kind as "roles" | "permissions" | "domains"];
      removeOther(other, `${other.kind.slice(0, -1)} deleted`, type);
    }],
    [2, () => live().length > 1, () => deleteUser(random.pick(live()))],
    // A member deleted: the other entities' steps make it rare among the deletes above.
    [1, () => live().length > 1 && liveMemberships().length > 0, () => {
      deleteUser(random.pick(liveMemberships()).user);
    }],
  ];

  mutations.push(
    [1, () => subscriptions.length < 2, createSubscription],
    [2, () => subscriptions.length > 0, () => {
      const subscription = random.pick(subscriptions);
      const [type, status] = random.pick(SUBSCRIPTION_CHANGES);
      if (status !== null) subscription.status = status;
      let change = "subscription changed";
      if (random.chance(0.5)) {
        // An item changes and Clerk reports it inside its subscription only.
        const item = random.pick(subscription.items);
        item.status = random.pick(["active", "past_due", "canceled"]);
        item.updatedAt = tick();
        change = "item changed inside its subscription";
      } else if (random.chance(0.3)) {
        newItem(subscription);
        change = "item added inside its subscription";
      }
      emitSubscription(type, subscription, change);
    }],
    [2, () => items().length > 0, () => {
      const subscription = random.pick(subscriptions);
      const item = random.pick(subscription.items);
      const [type, status] = random.pick(ITEM_CHANGES);
      if (status !== null) item.status = status;
      item.updatedAt = tick();
      const payload = subscriptionItemEvent(type, {
        id: item.id,
        subscriptionId: subscription.id,
        payer: subscription.payer,
        status: item.status,
        planSlug: item.planSlug,
        createdAt: item.createdAt,
        updatedAt: item.updatedAt,
      }, item.updatedAt + random.int(3));
      recordOther(type, item.label, item.id, payload, "item changed alone", {
        billing: [synced(item)],
      });
    }],
    [1, () => true, () => emitSimple("paymentAttempt", attempts, ["pending", "paid", "failed"])],
    [
      1,
      () => true,
      () => emitSimple("waitlistEntry", waitlist, ["pending", "invited", "rejected"]),
    ],
  );

  /** Two users exchange primary addresses: a → temporary (or none), b → a's, a → b's. */
  function swapPrimaries(): void {
    const [a, b] = random.shuffle(live().filter((user) => user.primary !== null));
    const first = a!.primary!;
    const second = b!.primary!;
    const temporary = random.chance(0.5) ? takeAddress() : null;
    release(a!, first);
    if (temporary !== null) {
      a!.addresses.push(temporary);
      a!.primary = temporary;
    }
    emit("user.updated", a!, `swap with ${b!.label} 1/3: lets its primary go`);
    release(b!, second);
    freed.splice(freed.indexOf(first), 1);
    b!.addresses.push(first);
    b!.primary = first;
    emit("user.updated", b!, `swap with ${a!.label} 2/3: takes ${a!.label}'s address`);
    freed.splice(freed.indexOf(second), 1);
    a!.addresses.push(second);
    a!.primary = second;
    if (temporary !== null) release(a!, temporary);
    emit("user.updated", a!, `swap with ${b!.label} 3/3: takes ${b!.label}'s address`);
  }

  const initial = 2 + random.int(4);
  for (let i = 0; i < initial; i++) create();
  const steps = 10 + random.int(40);
  for (let i = 0; i < steps; i++) {
    const possible = mutations.filter(([, guard]) => guard());
    let roll = random.next() * possible.reduce((sum, [weight]) => sum + weight, 0);
    const [, , run] = possible.find(([weight]) => (roll -= weight) < 0) ?? possible.at(-1)!;
    run();
  }

  return { seed, tag, clerkIdPrefix, events, final: stateAfter(events) };
}

/**
 * Clerk's state after `events` (a history, or part of one, in Clerk's order): each
 * user, organization and membership as its last event left it, deleted ones left out
 * but for held users, which an app's row may keep erased; an organization's or a user's
 * deletion ends its memberships. Throws a `RangeError` if two users would hold one
 * address, two organizations one slug, or one user two memberships of an organization
 * at the same time, which Clerk forbids: leaving events out of a history can lead there.
 */
export function stateAfter(events: readonly HistoryEvent[]): ClerkState {
  const holders = new Map<string, string>();
  const held = new Map<string, readonly string[]>();
  const users = new Map<string, SyncedUser>();
  const organizations = new Map<string, SyncedOrganization>();
  const memberships = new Map<string, SyncedMembership>();
  const billing = new Map<string, SyncedBillingRow>();
  const others: Record<OtherKind, Map<string, SyncedOther>> = {
    invitations: new Map(),
    roles: new Map(),
    permissions: new Map(),
    domains: new Map(),
  };
  const unique = <T>(
    rows: Iterable<T>,
    key: (row: T) => string | null,
    what: string,
    index: number,
  ) => {
    const seen = new Set<string>();
    for (const row of rows) {
      const value = key(row);
      if (value === null) continue;
      if (seen.has(value)) throw new RangeError(`Cannot replay e${index}: ${what} held twice`);
      seen.add(value);
    }
  };
  for (const event of events) {
    if (event.billing !== undefined) {
      // Each object as the event carries it: Clerk's order is each object's order.
      for (const row of event.billing) billing.set(row.clerk_id, row);
      continue;
    }
    if (event.other !== undefined) {
      const rows = others[event.other.kind];
      if (event.other.row === null) rows.delete(event.clerkId);
      else rows.set(event.clerkId, event.other.row);
      continue;
    }
    if (event.organization !== undefined) {
      if (event.organization === null) {
        organizations.delete(event.clerkId);
        for (const [id, m] of memberships) {
          if (m.organization_id === event.clerkId) memberships.delete(id);
        }
        for (const rows of [others.invitations, others.domains]) {
          for (const [id, row] of rows) if (row.organization_id === event.clerkId) rows.delete(id);
        }
      } else organizations.set(event.clerkId, event.organization);
      unique(organizations.values(), (org) => org.slug, "a slug", event.index);
      continue;
    }
    if (event.membership !== undefined) {
      if (event.membership === null) memberships.delete(event.clerkId);
      else memberships.set(event.clerkId, event.membership);
      unique(
        memberships.values(),
        (m) => `${m.organization_id} ${m.user_id}`,
        "a membership",
        event.index,
      );
      continue;
    }
    for (const address of held.get(event.clerkId) ?? []) holders.delete(address);
    for (const address of event.addresses.map((address) => address.toLowerCase())) {
      const holder = holders.get(address);
      if (holder !== undefined) {
        throw new RangeError(`Cannot replay e${event.index}: ${holder} holds its address`);
      }
      holders.set(address, event.user);
    }
    held.set(event.clerkId, event.addresses.map((address) => address.toLowerCase()));
    const last = users.get(event.clerkId);
    if (event.state !== null) users.set(event.clerkId, event.state);
    else {
      if (event.held && last !== undefined) users.set(event.clerkId, { ...last, ...ERASED });
      else users.delete(event.clerkId);
      for (const [id, m] of memberships) if (m.user_id === event.clerkId) memberships.delete(id);
    }
  }
  const byId = <T extends { clerk_id: string }>(rows: Iterable<T>) =>
    [...rows].sort((a, b) => a.clerk_id < b.clerk_id ? -1 : a.clerk_id > b.clerk_id ? 1 : 0);
  return {
    users: byId(users.values()),
    organizations: byId(organizations.values()),
    memberships: byId(memberships.values()),
    billing: byId(billing.values()),
    invitations: byId(others.invitations.values()),
    roles: byId(others.roles.values()),
    permissions: byId(others.permissions.values()),
    domains: byId(others.domains.values()),
  };
}
