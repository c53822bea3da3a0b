/**
 * `POST /sync`: the signed-in user's row, now, for the moment right after sign-up, when
 * Clerk's webhook may not have arrived (Clerk: "not guaranteed to be delivered immediately
 * or at all"). The caller's Clerk session token names the user; a row the sync has is
 * answered at once, a deleted user stays deleted, and otherwise the user (and their
 * memberships with their organizations) is fetched from Clerk's Backend API and applied
 * through the same entry point as the webhook, ordered by Clerk's `updated_at`: a webhook
 * of an older state that arrives later is stale, a newer one applies.
 */
import { ClerkApi, ClerkApiError, MAX_PAGE_SIZE } from "./clerk_api.ts";
import { readDeliveryId, type StateEvent, stateEventOf } from "./clerk_event.ts";
import type { SyncConfig } from "./config.ts";
import type { Database } from "./database.ts";
import { ORGANIZATIONS } from "./organization.ts";
import { SessionError, SessionVerifier } from "./sessions.ts";
import { HttpError } from "./handler.ts";
import type { SyncStore } from "./store.ts";
import { USER } from "./user.ts";

/** The answer of a `POST /sync` that found or made the row. */
export interface OnDemandAnswer {
  /** `present`: the sync had the row; `applied`: fetched from Clerk and written now. */
  outcome: "present" | "applied";
  /** The user's row of public.users, as the user may read it (no private metadata). */
  user: Record<string, unknown>;
}

/** What `public.clerk_sync_user()` answers. */
interface KnownUser {
  user: Record<string, unknown> | null;
  deleted: boolean;
}

/** What {@linkcode createSyncOnDemand} wires together. */
export interface OnDemandOptions {
  config: SyncConfig;
  db: Database;
  store: SyncStore;
  /** The clock, in epoch milliseconds. */
  now?: () => number;
}

/** Syncs signed-in users on demand. */
export interface SyncOnDemand {
  /** The user the `Authorization` header's session token names: 401 without a valid one. */
  userOf(authorization: string | null): Promise<string>;
  /** The row of user `userId`, fetched from Clerk when the sync lacks it. */
  sync(userId: string): Promise<OnDemandAnswer>;
}

/** Creates the on-demand sync of `options`. */
export function createSyncOnDemand(options: OnDemandOptions): SyncOnDemand {
  const { config, db, store, now = Date.now } = options;
  const sessions = new SessionVerifier(config);
  // One attempt per call: the app is waiting, and says when to try again.
  const clerk = new ClerkApi({ ...config.clerk, retries: 0, timeoutMs: 5_000 });
  /** Users being fetched: concurrent calls for one user ask Clerk once. */
  const fetching = new Map<string, Promise<OnDemandAnswer>>();

  const known = async (userId: string) =>
    await db.call("clerk_sync_user", { p_clerk_id: userId }) as KnownUser;

  /** The user's state and those of their memberships and organizations, from Clerk. */
  const fromClerk = async (userId: string): Promise<StateEvent[]> => {
    const user = await clerk.find(USER.clerk, userId);
    if (user === null) throw new HttpError(404, `Clerk has no user ${userId}`);
    const events = [stateEventOf("user.updated", user, now())];
    const path = `/v1/users/${encodeURIComponent(userId)}/organization_memberships`;
    for (let offset = 0;; offset += MAX_PAGE_SIZE) {
      let page: unknown[];
      try {
        page = await clerk.listAt(path, { limit: MAX_PAGE_SIZE, offset }, true);
      } catch (error) {
        // An instance with organizations off has no memberships to bring.
        if (error instanceof ClerkApiError && error.code === ORGANIZATIONS.offCode) break;
        throw error;
      }
      for (const membership of page) {
        const organization = (membership as { organization?: unknown } | null)?.organization;
        events.push(
          stateEventOf("organization.updated", organization, now()),
          stateEventOf("organizationMembership.updated", membership, now()),
        );
      }
      if (page.length < MAX_PAGE_SIZE) break;
    }
    return events;
  };

  const fetchAndApply = async (userId: string): Promise<OnDemandAnswer> => {
    let events: StateEvent[];
    try {
      events = await fromClerk(userId);
    } catch (error) {
      throw clerkFailure(error);
    }
    const outcomes = await store.applyAll(
      events.map((event) => ({ svixId: readDeliveryId("sync", event), event })),
    );
    const after = await known(userId);
    if (after.deleted) throw deleted(userId);
    if (after.user === null) throw new HttpError(503, "The user's row is not there yet", 1);
    return { outcome: outcomes[0] === "applied" ? "applied" : "present", user: after.user };
  };

  return {
    async userOf(authorization) {
      try {
        return await sessions.userOf(authorization);
      } catch (error) {
        if (error instanceof SessionError) throw new HttpError(401, error.message);
        throw new HttpError(
          503,
          `Cannot read the Clerk instance's keys at ${config.jwksUrl}: try again later`,
          5,
        );
      }
    },
    async sync(userId) {
      const stored = await known(userId);
      if (stored.deleted) throw deleted(userId);
      if (stored.user !== null) return { outcome: "present", user: stored.user };
      let pending = fetching.get(userId);
      if (pending === undefined) {
        pending = fetchAndApply(userId).finally(() => fetching.delete(userId));
        fetching.set(userId, pending);
      }
      return await pending;
    },
  };
}

/** A user Clerk deleted: answered from the tombstone, and never brought back. */
function deleted(userId: string): HttpError {
  return new HttpError(410, `User ${userId} was deleted in Clerk`);
}

/** What a failure to read Clerk means for the caller. */
function clerkFailure(error: unknown): unknown {
  if (!(error instanceof ClerkApiError)) return error;
  if (error.status === 429) {
    return new HttpError(
      429,
      "Clerk's rate limit: try again later",
      Math.max(1, Math.ceil((error.retryAfterMs ?? 10_000) / 1000)),
    );
  }
  if (error.status === null || error.status >= 500) {
    return new HttpError(503, "Clerk's Backend API is unavailable: try again later", 5);
  }
  // A refused key or an unexpected answer: the function's configuration, not the caller's.
  return error;
}
