/**
 * Reading the sync's health summary, `public.clerk_sync_status()`, through the database
 * port (a direct connection, or the Data API as `service_role`).
 */
import type { Database } from "../../functions/clerk-webhook/database.ts";
import type { BackfillSummary } from "../backfill/sync.ts";

/** Webhook deliveries of one window, by what they did; `refused` counts refused messages. */
export interface WindowCounts {
  applied: number;
  stale: number;
  ignored: number;
  refused: number;
}

/** A delivery the function refused after verifying it, as the status lists it. */
export interface RecordedRefusal {
  svix_id: string;
  event_type: string | null;
  status: number;
  reason: string | null;
  first_at: string;
  last_at: string;
  attempts: number;
  /** Whether a later attempt of the same message was applied, stale or ignored. */
  delivered_since: boolean;
}

/** Counts of one kind in a backfill run, as `cli/backfill/log.ts` records them. */
export type RunCounts = Pick<
  BackfillSummary,
  "fetched" | "applied" | "stale" | "duplicate" | "deleted" | "invalid"
>;

/** A kind the run skipped, and why (organizations off on the instance, say). */
export interface SkippedKind {
  skipped: string;
}

/** A backfill or reconcile run, from `clerk_sync.backfill_runs`. */
export interface BackfillRunRow {
  id: number;
  started_at: string;
  finished_at: string;
  mode: "backfill" | "reconcile";
  ok: boolean;
  /** Per kind (users, organizations, memberships): its counts, or why it was skipped. */
  counts: Record<string, RunCounts | SkippedKind>;
  error: string | null;
}

/** What `public.clerk_sync_status()` returns; times are ISO strings of the database. */
export interface SyncStatus {
  /** The database's clock when it was read: every age is measured from it. */
  checked_at: string;
  /** Live rows of public.users. */
  users: number;
  /**
   * Rows of the other synced tables, by name (organizations counts the live ones;
   * open_invitations the pending ones not expired); absent from schemas before 20261205100000.
   */
  rows?: Record<string, number>;
  deliveries: { last_hour: WindowCounts; last_day: WindowCounts };
  last_delivery_at: string | null;
  last_by_type: Record<string, { received_at: string; event_at: string }>;
  refusals: { total: number; recent: RecordedRefusal[] };
  last_run: BackfillRunRow | null;
  ledger: { entries: number; oldest_at: string | null };
}

/** Reads the summary from `db`; throws with the database's reason. */
export async function readSyncStatus(db: Database): Promise<SyncStatus> {
  return await db.call("clerk_sync_status") as SyncStatus;
}
