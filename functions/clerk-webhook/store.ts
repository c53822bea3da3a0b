/**
 * The write side shared by every transport: the arguments of
 * public.apply_clerk_user_event() and what its answers and failures mean.
 */
import type { ClerkEvent } from "./clerk_event.ts";

/** What applying one delivery did. */
export type Outcome = "applied" | "duplicate" | "stale" | "ignored";

const OUTCOMES: readonly string[] = ["applied", "duplicate", "stale", "ignored"];

/** A transport to the database that applies deliveries. */
export interface SyncStore {
  /** Applies the event of delivery `svixId` through public.apply_clerk_user_event(). */
  apply(svixId: string, event: ClerkEvent): Promise<Outcome>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** The database could not be reached or gave up for a passing reason: retry later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** Time allowed for one apply before answering 503; Svix stops waiting at 15 s. */
export const APPLY_TIMEOUT_MS = 8_000;

/** The named arguments of public.apply_clerk_user_event(), as PostgREST takes them. */
export interface ApplyArguments {
  p_svix_id: string;
  p_event_type: string;
  p_event_at: string;
  p_clerk_id: string | null;
  p_email: string | null;
  p_first_name: string | null;
  p_last_name: string | null;
  p_image_url: string | null;
  p_clerk_created_at: string | null;
  p_clerk_updated_at: string | null;
  /** When the caller stops waiting; the function commits nothing after it. */
  p_deadline: string | null;
}

/**
 * Maps one delivery onto the arguments of the SQL function; with `deadline`, the
 * function refuses to commit after it (the caller has answered 503 by then).
 */
export function applyArguments(
  svixId: string,
  event: ClerkEvent,
  deadline: Date | null = null,
): ApplyArguments {
  const user = "user" in event ? event.user : null;
  return {
    p_svix_id: svixId,
    p_event_type: event.type,
    p_event_at: event.occurredAt.toISOString(),
    p_clerk_id: event.clerkId,
    p_email: user?.email ?? null,
    p_first_name: user?.firstName ?? null,
    p_last_name: user?.lastName ?? null,
    p_image_url: user?.imageUrl ?? null,
    p_clerk_created_at: user?.createdAt.toISOString() ?? null,
    p_clerk_updated_at: user?.updatedAt.toISOString() ?? null,
    p_deadline: deadline?.toISOString() ?? null,
  };
}

/** Checks the SQL function's answer. */
export function toOutcome(value: unknown): Outcome {
  if (typeof value === "string" && OUTCOMES.includes(value)) return value as Outcome;
  throw new TypeError(`Unexpected answer from apply_clerk_user_event: ${JSON.stringify(value)}`);
}

/**
 * Whether a SQLSTATE names a condition that passes: a lost connection (08), a
 * serialization failure or deadlock (40), exhausted resources (53), a lock wait over
 * lock_timeout (55P03), a cancel or shutdown (57), an I/O error (58) or a read-only
 * standby after a failover (25006).
 */
export function isTransientSqlState(code: string): boolean {
  return /^(08|40|53|57|58)/.test(code) || code === "55P03" || code === "25006";
}
