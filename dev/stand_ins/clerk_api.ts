/**
 * A stand-in for Clerk's Backend API in tests: the endpoints the backfill reads, for every
 * entity of the sync's registry (functions/clerk-webhook/entities.ts), where its module
 * says Clerk has them.
 * The real API needs a Clerk account and the internet, which tests here have neither,
 * so this module follows Clerk's documented behaviour:
 *
 * - Errors in Clerk's shape: `{ errors: [{ code, message, long_message, meta? }],
 *   clerk_trace_id }`.
 * - Authentication: `Authorization: Bearer <secret key>`; a missing or wrong key is 401
 *   `clerk_key_invalid`, with Clerk's wording.
 * - `GET /v1/users?limit=&offset=&order_by=`: a JSON array of User objects (the same
 *   object as the `data` of Clerk's user webhooks). `limit` 1 to 500, default 10;
 *   `offset` default 0; `order_by` `created_at` or `updated_at` with an optional `+`
 *   (ascending) or `-` (descending, the default: `-created_at`).
 * - `GET /v1/users/{id}`: the User, or 404 with code `resource_not_found`.
 * - `GET /v1/users/{id}/organization_memberships`: the user's memberships, each with its
 *   organization, `{ data, total_count }`.
 * - `GET /v1/organizations`, the instance-wide `GET /v1/organization_memberships` and
 *   `GET /v1/organizations/{id}/memberships`: `{ data, total_count }`, with the same
 *   `limit`, `offset` and `order_by`; `GET /v1/organizations/{id}` as for users.
 *   Organizations and memberships are the `data` of their webhooks.
 * - Invitations and domains per organization (`GET /v1/organizations/{id}/invitations`,
 *   `…/domains`), roles and permissions instance-wide (`GET /v1/organization_roles`,
 *   `GET /v1/organization_permissions`, and each one by id): `{ data, total_count }`, the
 *   `data` of their webhooks.
 * - Organizations off (Clerk's default for a new application; `organizations: false`):
 *   every organization endpoint answers 403 with exactly Clerk's body, `{"errors":[{"code":
 *   "organization_not_enabled_in_instance","message":"access denied","long_message":"The
 *   organizations feature is not enabled for this instance."}]}`.
 * - `GET /v1/billing/subscription_items` (`include_free`) and `GET /v1/waitlist_entries`:
 *   `{ data, total_count }`; items in the Backend API's shape (`plan_period` for the
 *   webhooks' `interval`, no `subscription_id`). Billing off (`billing: false`): every
 *   billing endpoint answers 403; Clerk documents no code for it, the stand-in says
 *   `billing_not_enabled`.
 * - Faults planned by request number: a 429 with `Retry-After` (Clerk's answer to a
 *   client over its rate limit), a 5xx, or any status with a given Clerk error, each in
 *   Clerk's error shape (the wording of the 429 and the 5xx is the stand-in's own).
 *
 * Not reproduced: the list's filters (`email_address`, `query`, …), validation errors
 * for bad parameters, other endpoints and methods, real rate limiting.
 */
import {
  membershipEvent,
  type MembershipState,
  organizationEvent,
  type OrganizationState,
  subscriptionItemEvent,
  type SubscriptionItemState,
  userEvent,
  type UserState,
  waitlistEntryEvent,
  type WaitlistEntryState,
} from "../clerk_events.ts";
import { ENTITIES } from "../../functions/clerk-webhook/entities.ts";
import { type Entity, isListed } from "../../functions/clerk-webhook/entity.ts";
import { MEMBERSHIP } from "../../functions/clerk-webhook/membership.ts";
import { ORGANIZATION } from "../../functions/clerk-webhook/organization.ts";
import { SUBSCRIPTION_ITEM } from "../../functions/clerk-webhook/subscription_item.ts";
import { USER } from "../../functions/clerk-webhook/user.ts";
import { WAITLIST_ENTRY } from "../../functions/clerk-webhook/waitlist_entry.ts";

/** A Clerk object as its webhooks' `data` and the Backend API carry it. */
type Clerk = Record<string, unknown>;

/** One error of Clerk's error answer, as Clerk sends it. */
export interface ClerkErrorEntry {
  code: string;
  message: string;
  long_message: string;
  meta?: Record<string, unknown>;
}

/** An answer to put in place of a request's normal one. */
export interface Fault {
  status: number;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** The error to answer with (default: the stand-in's own for a 429 or a 5xx). */
  error?: ClerkErrorEntry;
}

/** One request the stand-in answered. */
export interface ServedRequest {
  /** Path and query, such as `/v1/users?limit=2&offset=0&order_by=%2Bcreated_at`. */
  path: string;
  status: number;
  /** `performance.now()` when it arrived. */
  at: number;
}

/** Options of {@linkcode startClerkApiStandIn}. */
export interface ClerkApiStandInOptions {
  /** The instance's secret key; requests must bear it. */
  secretKey: string;
  /** Faults by request number (1 for the first request). */
  faults?: Record<number, Fault>;
  /** False for an instance with organizations off (default: on). */
  organizations?: boolean;
  /** False for an instance with billing off (default: on). */
  billing?: boolean;
  /** The port to listen on (default: a free one). */
  port?: number;
  /**
   * Called with each page of the list once it is cut, before it is sent: a test can
   * change the users as if someone acted in Clerk while the client pages.
   */
  onListPage?: (page: { offset: number; users: Record<string, unknown>[] }) => void | Promise<void>;
}

/** A running stand-in; `url` is what the backfill takes as `CLERK_API_URL`. */
export interface ClerkApiStandIn extends AsyncDisposable {
  url: string;
  /** Creates or replaces a user in Clerk, with Clerk's User shape; returns it. */
  put(state: UserState): Record<string, unknown>;
  /** Deletes a user from Clerk, and its memberships. */
  remove(id: string): void;
  /** Creates or replaces an organization; returns it. */
  putOrganization(state: OrganizationState): Record<string, unknown>;
  /** Deletes an organization, and its memberships. */
  removeOrganization(id: string): void;
  /** Creates or replaces a membership; returns it. */
  putMembership(state: MembershipState): Record<string, unknown>;
  /** Removes a member from an organization. */
  removeMembership(id: string): void;
  /** Creates or replaces a billing subscription item; returns it as the Backend API lists it. */
  putSubscriptionItem(state: SubscriptionItemState): Record<string, unknown>;
  /** Creates or replaces a waitlist entry; returns it. */
  putWaitlistEntry(state: WaitlistEntryState): Record<string, unknown>;
  /**
   * Creates or replaces an object of `entity` (an invitation, a role, a permission, a
   * domain) from the `data` of its webhook event; returns it.
   */
  putObject(entity: Entity, event: Record<string, unknown>): Record<string, unknown>;
  /** Deletes an object of `entity`. */
  removeObject(entity: Entity, id: string): void;
  /** Every request answered so far, in order. */
  requests: ServedRequest[];
}

const ORDERS = ["created_at", "updated_at"] as const;

/** Clerk's answer to any organization endpoint of an instance with organizations off. */
const ORGANIZATIONS_OFF = {
  errors: [{
    code: "organization_not_enabled_in_instance",
    message: "access denied",
    long_message: "The organizations feature is not enabled for this instance.",
  }],
};

/** The organization endpoints: organizations, memberships, roles, invitations, … */
const ORGANIZATION_PATH = /^\/v1\/(organization|users\/[^/]+\/organization_)/;

/** Clerk's 404 for an id it does not have. */
const NOT_FOUND: ClerkErrorEntry = {
  code: "resource_not_found",
  message: "not found",
  long_message: "Resource not found",
};

/** A path template's pattern: `{name}` matches one segment. */
function pattern(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\\\{\w+\\\}|\{\w+\}/g, "([^/]+)")}$`);
}

/** Starts the stand-in on 127.0.0.1, on `options.port` or a free port. */
export function startClerkApiStandIn(options: ClerkApiStandInOptions): ClerkApiStandIn {
  /** Clerk's objects of each entity, by id, in the shape of its webhooks' `data`. */
  const objects = new Map(ENTITIES.map((entity) => [entity, new Map<string, Clerk>()]));
  const users = objects.get(USER)!;
  const organizations = objects.get(ORGANIZATION)!;
  const memberships = objects.get(MEMBERSHIP)!;
  const requests: ServedRequest[] = [];
  /** A state column of an object, as the webhook's parser reads it (a membership's parent). */
  const column = (entity: Entity, object: Clerk, name: string) =>
    entity.parseState(object, Date.now()).state[name];

  /** Each entity's endpoints, where its module says Clerk has them. */
  const routes = ENTITIES.filter(isListed).flatMap((entity) => {
    const { clerk } = entity;
    const all = () => [...objects.get(entity)!.values()];
    const served: {
      path: RegExp;
      serve: (match: string[], params: URLSearchParams) => Promise<Response>;
    }[] = clerk.parents === undefined
      ? [{
        path: pattern(clerk.list),
        serve: async (_, params) =>
          clerk.wrapped
            ? listed(all(), params)
            : Response.json(await list(all(), params, entity === USER)),
      }]
      // Listed per parent: the listing of its parent, below.
      : [];
    const { one } = clerk;
    if (one === undefined) {
      // Clerk has no endpoint for one of them.
    } else if ("path" in one) {
      served.push({
        path: pattern(one.path),
        serve: ([id]) => {
          const found = objects.get(entity)!.get(decodeURIComponent(id!));
          return Promise.resolve(
            found === undefined ? clerkError(404, NOT_FOUND) : Response.json(found),
          );
        },
      });
    } else {
      // The parent is the entity whose own path is the one named for it (a membership's
      // organization): a listing of a parent Clerk does not have is a 404.
      const shape = (template: string) => template.replace(/\{\w+\}/g, "{}");
      const parent = ENTITIES.filter(isListed).find((other) =>
        other.clerk.one !== undefined && "path" in other.clerk.one &&
        shape(other.clerk.one.path) === shape(one.parentPath)
      );
      served.push({
        path: pattern(one.listPath),
        serve: ([segment], params) => {
          const id = decodeURIComponent(segment!);
          if (parent !== undefined && !objects.get(parent)!.has(id)) {
            return Promise.resolve(clerkError(404, NOT_FOUND));
          }
          return listed(
            all().filter((object) => column(entity, object, one.parentColumn) === id),
            params,
          );
        },
      });
    }
    return served;
  });
  // A user's memberships, with their organizations (what POST /sync reads).
  routes.push({
    path: pattern("/v1/users/{id}/organization_memberships"),
    serve: ([segment], params) => {
      const id = decodeURIComponent(segment!);
      if (!users.has(id)) return Promise.resolve(clerkError(404, NOT_FOUND));
      return listed(
        [...memberships.values()].filter((m) => column(MEMBERSHIP, m, "user_id") === id),
        params,
      );
    },
  });

  async function answer(request: Request, number: number): Promise<Response> {
    const url = new URL(request.url);
    const fault = options.faults?.[number];
    if (fault !== undefined) {
      const headers: HeadersInit = fault.retryAfter === undefined
        ? {}
        : { "Retry-After": String(fault.retryAfter) };
      return clerkError(fault.status, fault.error ?? defaultFault(fault.status), headers);
    }
    if (request.headers.get("authorization") !== `Bearer ${options.secretKey}`) {
      const message =
        "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.";
      return clerkError(401, { code: "clerk_key_invalid", message, long_message: message });
    }
    if (request.method !== "GET") {
      const message = "Not allowed";
      return clerkError(405, { code: "method_not_allowed", message, long_message: message });
    }
    if (options.organizations === false && ORGANIZATION_PATH.test(url.pathname)) {
      return Response.json(ORGANIZATIONS_OFF, { status: 403 });
    }
    if (options.billing === false && url.pathname.startsWith("/v1/billing/")) {
      const message = "Billing is not enabled for this instance.";
      return clerkError(403, { code: "billing_not_enabled", message, long_message: message });
    }
    for (const route of routes) {
      const match = url.pathname.match(route.path);
      if (match !== null) return await route.serve(match.slice(1), url.searchParams);
    }
    return clerkError(404, NOT_FOUND);
  }

  /** A listing as Clerk answers it for organizations and memberships. */
  async function listed(
    objects: Iterable<Record<string, unknown>>,
    params: URLSearchParams,
  ): Promise<Response> {
    const all = [...objects];
    return Response.json({ data: await list(all, params, false), total_count: all.length });
  }

  /** One page of `objects`; `onListPage` sees the pages of users. */
  async function list(
    objects: Iterable<Record<string, unknown>>,
    params: URLSearchParams,
    ofUsers: boolean,
  ): Promise<Record<string, unknown>[]> {
    const limit = Math.min(Math.max(Number(params.get("limit") ?? 10), 1), 500);
    const offset = Math.max(Number(params.get("offset") ?? 0), 0);
    const orderBy = params.get("order_by") ?? "-created_at";
    const field = orderBy.replace(/^[+-]/, "") as typeof ORDERS[number];
    if (!ORDERS.includes(field)) throw new TypeError(`Unsupported order_by "${orderBy}"`);
    const sign = orderBy.startsWith("-") ? -1 : 1;
    const sorted = [...objects].sort((a, b) =>
      sign * ((a[field] as number) - (b[field] as number)) ||
      String(a.id).localeCompare(String(b.id))
    );
    const page = sorted.slice(offset, offset + limit);
    if (ofUsers) await options.onListPage?.({ offset, users: page });
    return page;
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url);
      const served = { path: `${url.pathname}${url.search}`, status: 0, at: performance.now() };
      requests.push(served);
      const response = await answer(request, requests.length);
      served.status = response.status;
      return response;
    },
  );

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    put(state) {
      const user = userEvent("user.updated", state).data as Record<string, unknown>;
      users.set(state.id, user);
      return user;
    },
    remove(id) {
      users.delete(id);
      for (const [key, m] of memberships) {
        if (column(MEMBERSHIP, m, "user_id") === id) memberships.delete(key);
      }
    },
    putOrganization(state) {
      const organization = organizationEvent("organization.updated", state).data as Record<
        string,
        unknown
      >;
      organizations.set(state.id, organization);
      return organization;
    },
    removeOrganization(id) {
      organizations.delete(id);
      // Its memberships, invitations and domains go with it.
      for (const entity of ENTITIES) {
        const one = entity.clerk?.one;
        if (one === undefined || !("parentPath" in one) || one.parentColumn !== "organization_id") {
          continue;
        }
        const children = objects.get(entity)!;
        for (const [key, child] of children) {
          if (column(entity, child, "organization_id") === id) children.delete(key);
        }
      }
    },
    putMembership(state) {
      const membership = membershipEvent("organizationMembership.updated", state).data as Record<
        string,
        unknown
      >;
      memberships.set(state.id, membership);
      return membership;
    },
    removeMembership: (id) => void memberships.delete(id),
    putSubscriptionItem(state) {
      const { interval, subscription_id: _, ...item } = subscriptionItemEvent(
        "subscriptionItem.updated",
        state,
      ).data as Record<string, unknown>;
      const listed = { ...item, object: "commerce_subscription_item", plan_period: interval };
      objects.get(SUBSCRIPTION_ITEM)!.set(state.id, listed);
      return listed;
    },
    putWaitlistEntry(state) {
      const entry = waitlistEntryEvent("waitlistEntry.updated", state).data as Record<
        string,
        unknown
      >;
      objects.get(WAITLIST_ENTRY)!.set(state.id, entry);
      return entry;
    },
    putObject(entity, event) {
      const object = event.data as Record<string, unknown>;
      objects.get(entity)!.set(String(object.id), object);
      return object;
    },
    removeObject: (entity, id) => void objects.get(entity)!.delete(id),
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The stand-in's own error for a planned 429 or 5xx. */
function defaultFault(status: number): ClerkErrorEntry {
  return status === 429
    ? { code: "too_many_requests", message: "Too many requests", long_message: "Too many requests" }
    : {
      code: "internal_clerk_error",
      message: "There was an internal error",
      long_message: "There was an internal error",
    };
}

/** Clerk's error answer: `{ errors: [error], clerk_trace_id }`. */
function clerkError(status: number, error: ClerkErrorEntry, headers: HeadersInit = {}): Response {
  return Response.json({
    errors: [error],
    clerk_trace_id: crypto.randomUUID().replaceAll("-", ""),
  }, { status, headers });
}
