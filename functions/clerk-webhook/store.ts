/**
 * The write side shared by every transport: the arguments of public.apply_clerk_events()
 * and what its answers and failures mean. A transport only runs the call (database.ts).
 */
import type { ClerkEvent } from "./clerk_event.ts";
import type { EntityState } from "./entity.ts";

/** What applying one delivery did. */
export type Outcome = "applied" | "duplicate" | "stale" | "ignored";

const OUTCOMES: readonly string[] = ["applied", "duplicate", "stale", "ignored"];

/** One delivery to apply: its svix-id and its parsed event. */
export interface Delivery {
  svixId: string;
  event: ClerkEvent;
}

/** A transport to the database that applies deliveries. */
export interface SyncStore {
  /**
   * Applies the event of delivery `svixId`, together with the deliveries that are
   * waiting at the same time (one call of public.apply_clerk_events()).
   */
  apply(svixId: string, event: ClerkEvent): Promise<Outcome>;
  /**
   * Applies `deliveries` in order, in as few calls as the batch limit allows (the
   * backfill's pages); resolves to their outcomes in order, or rejects with the first
   * failure once every delivery has been tried.
   */
  applyAll(deliveries: readonly Delivery[]): Promise<Outcome[]>;
  /** Records a verified delivery the function did not apply (public.record_clerk_refusal()). */
  recordRefusal(refusal: Refusal): Promise<void>;
  /**
   * Checks that the database has the sync's migrations at {@linkcode SCHEMA_VERSION} or
   * later (applying does so before its first write); rejects with
   * {@linkcode SchemaMismatchError}, or {@linkcode StoreUnavailableError} when the
   * database cannot be reached.
   */
  checkSchema(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A verified delivery answered 422 (Clerk sent what the sync cannot read) or 500. */
export interface Refusal {
  svixId: string;
  /** The event type, when the envelope could be read. */
  type: string | null;
  status: number;
  reason: string;
}

/** The named arguments of public.record_clerk_refusal(), as PostgREST takes them. */
export function refusalArguments({ svixId, type, status, reason }: Refusal) {
  return { p_svix_id: svixId, p_event_type: type, p_status: status, p_reason: reason };
}

/** The database could not be reached or gave up for a passing reason: retry later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/**
 * The schema the code needs: the name of the newest migration whose objects it relies
 * on, as public.clerk_sync_schema_version() answers it. An equal or newer schema serves.
 */
export const SCHEMA_VERSION = "20261205100000";

/**
 * The database lacks the sync's migrations, or has older ones than the code needs: a
 * `supabase db push` fixes it, and Svix's retries deliver once it has run.
 */
export class SchemaMismatchError extends StoreUnavailableError {
  constructor(detail: string, options?: ErrorOptions) {
    super(
      `${detail}: run \`supabase db push\` to apply the sync's migrations ` +
        "(with --db-url for a database that is not the linked project's)",
      options,
    );
    this.name = "SchemaMismatchError";
  }
}

/**
 * A check that the database's schema serves this code, for the first write: it reads
 * the version with `readVersion` once it passes, and again on each call until then.
 * Rejects with {@linkcode SchemaMismatchError}, or with what `readVersion` rejects with.
 */
export function schemaCheck(readVersion: () => Promise<unknown>): () => Promise<void> {
  let passed: Promise<void> | undefined;
  return () => {
    passed ??= readVersion().then((version) => {
      if (typeof version !== "string" || version < SCHEMA_VERSION) {
        throw new SchemaMismatchError(
          `The database's clerk-webhook-sync schema is at ${
            typeof version === "string" ? version : JSON.stringify(version)
          }; this code needs ${SCHEMA_VERSION} or later`,
        );
      }
    }).catch((error) => {
      passed = undefined;
      throw error;
    });
    return passed;
  };
}

/** Time allowed for one apply before answering 503; Svix stops waiting at 15 s. */
export const APPLY_TIMEOUT_MS = 8_000;

/**
 * Settles as `promise` does, or rejects with `late()` after `ms` milliseconds, whichever
 * comes first. The work behind `promise` is not cancelled: a call's deadline keeps it
 * from committing after the caller gave up.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  late: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A delivery as public.apply_clerk_events() takes it (type clerk_sync.delivery). */
export interface DeliveryArgument {
  svix_id: string;
  type: string;
  event_at: string;
  object_id: string | null;
  state: EntityState | null;
}

/** The named arguments of public.apply_clerk_events(), as PostgREST takes them. */
export interface BatchArguments {
  p_events: DeliveryArgument[];
  /** When the caller stops waiting; the function commits nothing after it. */
  p_deadline: string | null;
}

/**
 * Maps deliveries onto the arguments of the SQL entry point. With a `deadline`, the
 * function refuses to commit after it (the caller has answered 503 by then).
 */
export function batchArguments(
  deliveries: readonly Delivery[],
  deadline: Date | null = null,
): BatchArguments {
  return {
    p_events: deliveries.map(({ svixId, event }) => ({
      svix_id: svixId,
      type: event.type,
      event_at: event.occurredAt.toISOString(),
      object_id: event.objectId,
      state: event.state,
    })),
    p_deadline: deadline === null ? null : deadline.toISOString(),
  };
}

/** Checks the SQL function's answer: one outcome per delivery of the batch. */
export function toOutcomes(value: unknown, count: number): Outcome[] {
  if (
    Array.isArray(value) && value.length === count &&
    value.every((outcome) => typeof outcome === "string" && OUTCOMES.includes(outcome))
  ) {
    return value as Outcome[];
  }
  throw new TypeError(`Unexpected answer from apply_clerk_events: ${JSON.stringify(value)}`);
}

/**
 * Whether a SQLSTATE names a condition that passes: a lost connection (08), a
 * serialization failure or deadlock (40), exhausted resources (53, among them 53300 too
 * many connections), a lock wait over lock_timeout (55P03), a cancel or shutdown (57,
 * among them 57P01 to 57P03 when a server restarts or fails over), an I/O error (58), a
 * read-only standby after a failover (25006), or a prepared statement that a
 * transaction-mode pooler moved to another server connection (26000).
 */
function isTransientSqlState(code: string): boolean {
  return /^(08|40|53|57|58)/.test(code) || ["55P03", "25006", "26000"].includes(code);
}

/**
 * Supavisor refuses a client beyond the pool's client limit with this message under
 * SQLSTATE XX000 (internal error), which says nothing of its passing.
 */
const POOLER_FULL = /max client connections reached/i;

/**
 * A function or table of the sync that does not exist: undefined function (42883) or
 * table (42P01), or PostgREST's "not in the schema cache" (PGRST202): the migrations
 * have not run.
 */
const MISSING_OBJECT = new Set(["42883", "42P01", "PGRST202"]);

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
 * never got an answer, or PostgREST's empty 400 on a connection the database dropped),
 * a transient SQLSTATE, a PostgREST connection error (PGRST00x)
 * or what the transport knows to be transient is {@linkcode StoreUnavailableError}
 * (503, Svix retries), a missing object of the sync {@linkcode SchemaMismatchError}
 * (503 too: the migrations are yet to run); any other is a bug or bad data (500).
 */
export function storeError({ code, message, transient = false, cause }: Failure): Error {
  const options = cause === undefined ? undefined : { cause };
  if (code !== undefined && MISSING_OBJECT.has(code)) {
    return new SchemaMismatchError(
      `The database lacks the sync's migrations (${message})`,
      options,
    );
  }
  const passes = transient || !code || isTransientSqlState(code) || /^PGRST00/.test(code) ||
    POOLER_FULL.test(message);
  return passes ? new StoreUnavailableError(message, options) : new Error(message, options);
}
