/** What the sync knows of each kind of Clerk object it keeps: one module per entity. */

/**
 * An object's state as its SQL apply function takes it (`p_state`): column names to
 * values. Every entity carries Clerk's timestamps, which order its states.
 */
export interface EntityState {
  clerk_created_at: string;
  clerk_updated_at: string;
  [column: string]: unknown;
}

/**
 * A Clerk feature an instance may have off (organizations, billing): Clerk then answers
 * every endpoint of it with 403 and `offCode`, and the backfill skips its entities.
 */
export interface ClerkFeature {
  /** As the backfill's one line says it: "organizations are off on this Clerk instance". */
  name: string;
  /** A listing of the feature that answers 403 `offCode` when it is off. */
  probe: string;
  /** Absent where Clerk documents no code: then any 403 of the probe reads as off. */
  offCode?: string;
}

/** Where the backfill reads an entity from Clerk's Backend API. */
export interface ClerkSource {
  /**
   * The instance-wide listing, paged by `limit` and `offset`, oldest first; or, with
   * `parents`, one parent's listing (`{parent}` in the path), read for each parent.
   */
  list: string;
  /** For a listing per parent: the instance-wide listing of the parents, `{ data }`. */
  parents?: string;
  /** Whether the listing answers `{ data, total_count }`; else a bare array. */
  wrapped: boolean;
  /** Query parameters the listing needs besides paging (billing: `include_free`). */
  query?: Record<string, string>;
  /**
   * One object by id (`{id}` in the path), or, where Clerk has no such endpoint, the
   * listing of its parent that holds it: the parent's own path (a parent gone takes the
   * object along), that listing, and the column of the state naming the parent. Absent
   * for what Clerk never deletes (billing, the waitlist): nothing of it is reconciled.
   */
  one?: { path: string } | { parentPath: string; listPath: string; parentColumn: string };
  /** The feature it needs, when an instance may have it off. */
  feature?: ClerkFeature;
}

/** A kind of Clerk object the sync keeps: its events, its tables, and where Clerk lists it. */
export interface Entity {
  /**
   * Its one name, as the database says it (tombstones, delete modes, cascades) and the
   * backfill's run log and `npm run status` count it: user, organization, membership.
   */
  name: string;
  /** Its rows in progress lines and run logs: users, organizations, memberships. */
  plural: string;
  /** Event types whose `data` is the object's whole state (created, updated). */
  stateTypes: readonly string[];
  /** The event type of its deletion, whose `data` carries the id; none for billing. */
  deleteType?: string;
  /** Its table in schema public, and the one of its private metadata, if it has any. */
  table: string;
  privateTable?: string;
  /** Where Clerk's Backend API lists it, for the backfill; none for what Clerk does not list. */
  clerk?: ClerkSource;
  /**
   * Validates the `data` of a state event (`now` for refusing future times) and returns
   * the object's id and state. Throws `InvalidEventError`.
   */
  parseState(data: unknown, now: number): { id: string; state: EntityState };
}

/** An entity Clerk's Backend API lists, which the backfill brings. */
export type ListedEntity = Entity & { clerk: ClerkSource };

/** Whether Clerk's Backend API lists `entity`. */
export function isListed(entity: Entity): entity is ListedEntity {
  return entity.clerk !== undefined;
}
