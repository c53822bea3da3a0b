/** What the sync needs to know of each kind of Clerk object it keeps. */

/**
 * An object's state as its SQL apply function takes it (`p_state`): column names to
 * values. Every entity carries Clerk's timestamps, which order its states.
 */
export interface EntityState {
  clerk_created_at: string;
  clerk_updated_at: string;
  [column: string]: unknown;
}

/** A kind of Clerk object the sync keeps: its events and how to read their `data`. */
export interface Entity {
  /** Event types whose `data` is the object's whole state (created, updated). */
  stateTypes: readonly string[];
  /** The event type of its deletion, whose `data` carries the id. */
  deleteType: string;
  /**
   * Validates the `data` of a state event (`now` for refusing future times) and returns
   * the object's id and state. Throws `InvalidEventError`.
   */
  parseState(data: unknown, now: number): { id: string; state: EntityState };
}
