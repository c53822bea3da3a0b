/**
 * The write side shared by every transport: the arguments of public.apply_clerk_event()
 * and what its answers and failures mean. A transport only runs the call.
 */
import type { ClerkEvent } from "./clerk_event.ts";
import type { EntityState } from "./entity.ts";

/** What applying one delivery did. */
export type Outcome = "applied" | "duplicate" | "stale" | "ignored";

const OUTCOMES: readonly string[] = ["applied", "duplicate", "stale", "ignored"];

/** A transport to the database that applies deliveries. */
export interface SyncStore {
  /** Applies the event of delivery `svixId` through public.apply_clerk_event(). */
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

/** The named arguments of public.apply_clerk_event(), as PostgREST takes them. */
export interface ApplyArguments {
  p_svix_id: string;
  p_event_type: string;
  p_event_at: string;
  p_object_id: string | null;
  p_state: EntityState | null;
  /** When the caller stops waiting; the function commits nothing after it. */
  p_deadline: string | null;
}

/**
 * Maps one delivery onto the arguments of the SQL entry point. With `timeoutMs`, the
 * call gets a deadline that far from now, after which the function refuses to commit
 * (the caller has answered 503 by then).
 */
export function applyArguments(
  svixId: string,
  event: ClerkEvent,
  timeoutMs: number | null = null,
): ApplyArguments {
  return {
    p_svix_id: svixId,
    p_event_type: event.type,
    p_event_at: event.occurredAt.toISOString(),
    p_object_id: event.objectId,
    p_state: event.state,
    p_deadline: timeoutMs === null ? null : new Date(Date.now() + timeoutMs).toISOString(),
  };
}

/** Checks the SQL function's answer. */
export function toOutcome(value: unknown): Outcome {
  if (typeof value === "string" && OUTCOMES.includes(value)) return value as Outcome;
  throw new TypeError(`Unexpected answer from apply_clerk_event: ${JSON.stringify(value)}`);
}

/**
 * Whether a SQLSTATE names a condition that passes: a lost connection (08), a
 * serialization failure or deadlock (40), exhausted resources (53), a lock wait over
 * lock_timeout (55P03), a cancel or shutdown (57), an I/O error (58) or a read-only
 * standby after a failover (25006).
 */
function isTransientSqlState(code: string): boolean {
  return /^(08|40|53|57|58)/.test(code) || code === "55P03" || code === "25006";
}

/** How a transport saw a failed call. */
export interface Failure {
  /** The SQLSTATE (or PostgREST's PGRST code), when the database answered. */
  code?: string | undefined;
  message: string;
  /** The transport knows the failure passes (a time-out, a gateway's 503). */
  transient?: boolean;
  cause?: unknown;
}

/**
 * The one rule for what a failed call means: a failure without a SQLSTATE (the call
 * never got an answer), a transient SQLSTATE, a PostgREST connection error (PGRST00x)
 * or what the transport knows to be transient is {@linkcode StoreUnavailableError}
 * (503, Svix retries); any other is a bug or bad data (500).
 */
export function storeError({ code, message, transient = false, cause }: Failure): Error {
  const passes = transient || !code || isTransientSqlState(code) || /^PGRST00/.test(code);
  const options = cause === undefined ? undefined : { cause };
  return passes ? new StoreUnavailableError(message, options) : new Error(message, options);
}
