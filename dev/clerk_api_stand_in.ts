/**
 * A stand-in for Clerk's Backend API in tests: the endpoints the backfill reads.
 * The real API needs a Clerk account and the internet, which tests here have neither,
 * so this module follows Clerk's documented behaviour:
 *
 * - Authentication: `Authorization: Bearer <secret key>`; a missing or wrong key is 401
 *   with Clerk's error shape `{ errors: [{ message, long_message, code }],
 *   clerk_trace_id }` and code `clerk_key_invalid`.
 * - `GET /v1/users?limit=&offset=&order_by=`: a JSON array of User objects (the same
 *   object as the `data` of Clerk's user webhooks). `limit` 1 to 500, default 10;
 *   `offset` default 0; `order_by` `created_at` or `updated_at` with an optional `+`
 *   (ascending) or `-` (descending, the default: `-created_at`).
 * - `GET /v1/users/{id}`: the User, or 404 with code `resource_not_found`.
 * - `GET /v1/organizations`, the instance-wide `GET /v1/organization_memberships` and
 *   `GET /v1/organizations/{id}/memberships`: `{ data, total_count }`, with the same
 *   `limit`, `offset` and `order_by`; `GET /v1/organizations/{id}` as for users.
 *   Organizations and memberships are the `data` of their webhooks.
 * - Faults planned by request number: a 429 with `Retry-After` (Clerk's answer to a
 *   client over its rate limit) or a 5xx, each with Clerk's error shape (the wording of
 *   those two is the stand-in's own).
 *
 * Not reproduced: the list's filters (`email_address`, `query`, …), validation errors
 * for bad parameters, other endpoints and methods, real rate limiting.
 */
import {
  membershipEvent,
  type MembershipState,
  organizationEvent,
  type OrganizationState,
  userEvent,
  type UserState,
} from "./clerk_events.ts";

/** An answer to put in place of a request's normal one. */
export interface Fault {
  status: number;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
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
  /** Every request answered so far, in order. */
  requests: ServedRequest[];
}

const ORDERS = ["created_at", "updated_at"] as const;

/** Starts the stand-in on 127.0.0.1, on `options.port` or a free port. */
export function startClerkApiStandIn(options: ClerkApiStandInOptions): ClerkApiStandIn {
  const users = new Map<string, Record<string, unknown>>();
  const organizations = new Map<string, Record<string, unknown>>();
  const memberships = new Map<string, Record<string, unknown>>();
  const requests: ServedRequest[] = [];
  const organizationOf = (membership: Record<string, unknown>) =>
    (membership.organization as { id: string }).id;
  const userOf = (membership: Record<string, unknown>) =>
    (membership.public_user_data as { user_id: string }).user_id;

  async function answer(request: Request, number: number): Promise<Response> {
    const url = new URL(request.url);
    const fault = options.faults?.[number];
    if (fault !== undefined) {
      const headers: HeadersInit = fault.retryAfter === undefined
        ? {}
        : { "Retry-After": String(fault.retryAfter) };
      return fault.status === 429
        ? clerkError(429, "too_many_requests", "Too many requests", headers)
        : clerkError(fault.status, "internal_clerk_error", "There was an internal error", headers);
    }
    if (request.headers.get("authorization") !== `Bearer ${options.secretKey}`) {
      return clerkError(
        401,
        "clerk_key_invalid",
        "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
      );
    }
    if (request.method !== "GET") return clerkError(405, "method_not_allowed", "Not allowed");
    const path = url.pathname;
    const params = url.searchParams;
    if (path === "/v1/users") return Response.json(await list(users.values(), params, true));
    if (path === "/v1/organizations") return listed(organizations.values(), params);
    if (path === "/v1/organization_memberships") return listed(memberships.values(), params);
    const members = path.match(/^\/v1\/organizations\/([^/]+)\/memberships$/);
    if (members !== null) {
      const id = decodeURIComponent(members[1]!);
      if (!organizations.has(id)) return clerkError(404, "resource_not_found", "not found");
      return listed([...memberships.values()].filter((m) => organizationOf(m) === id), params);
    }
    const one = path.match(/^\/v1\/(users|organizations)\/([^/]+)$/);
    const found = one === null
      ? undefined
      : (one[1] === "users" ? users : organizations).get(decodeURIComponent(one[2]!));
    if (found === undefined) return clerkError(404, "resource_not_found", "not found");
    return Response.json(found);
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
      for (const [key, m] of memberships) if (userOf(m) === id) memberships.delete(key);
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
      for (const [key, m] of memberships) if (organizationOf(m) === id) memberships.delete(key);
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
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Clerk's error answer: `{ errors: [{ message, long_message, code }], clerk_trace_id }`. */
function clerkError(
  status: number,
  code: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  const longMessage = code === "resource_not_found" ? "Resource not found" : message;
  return Response.json({
    errors: [{ message, long_message: longMessage, code }],
    clerk_trace_id: crypto.randomUUID().replaceAll("-", ""),
  }, { status, headers });
}
