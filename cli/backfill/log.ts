/**
 * The run log of `npm run backfill`: one row per run in `clerk_sync.backfill_runs`, written
 * at its end through `public.record_clerk_backfill_run()` over the run's own database, so
 * that `npm run status` can show the last run and what it changed. Dry runs change nothing
 * and are not logged.
 */
import type { Database } from "../../functions/clerk-webhook/database.ts";
import type { BackfillSummary } from "./sync.ts";
import type { RunCounts, SkippedKind } from "../status/read.ts";

/** One run that could change rows, as it ended. */
export interface BackfillRun {
  startedAt: Date;
  /** Whether it could delete rows (`--reconcile`). */
  reconcile: boolean;
  /** The summary of each kind that finished, by its noun (users, organizations, memberships). */
  summaries: Record<string, BackfillSummary>;
  /** The kinds the run skipped, by noun, each with why (organizations off on the instance). */
  skipped: Record<string, string>;
  /** Why the run failed; undefined when it finished. */
  error: string | undefined;
}

/** What the log keeps of a summary: a real run's counts (a dry run's plan is not one). */
function counts(
  { fetched, applied, stale, duplicate, deleted, invalid }: BackfillSummary,
): RunCounts {
  return { fetched, applied, stale, duplicate, deleted, invalid };
}

/** Records `run` in `db`; throws when it cannot. */
export async function recordBackfillRun(db: Database, run: BackfillRun): Promise<void> {
  const summaries = Object.entries(run.summaries);
  await db.call("record_clerk_backfill_run", {
    p_started_at: run.startedAt.toISOString(),
    p_finished_at: new Date().toISOString(),
    p_mode: run.reconcile ? "reconcile" : "backfill",
    p_ok: run.error === undefined && summaries.every(([, summary]) => summary.invalid === 0),
    // A skipped kind is recorded where its counts would be, as { skipped: why }.
    p_counts: Object.fromEntries([
      ...summaries.map(([noun, summary]): [string, RunCounts] => [noun, counts(summary)]),
      ...Object.entries(run.skipped).map(([noun, why]): [string, SkippedKind] => [
        noun,
        { skipped: why },
      ]),
    ]),
    p_error: run.error ?? null,
  });
}

/**
 * Records `run` like {@linkcode recordBackfillRun}, but only warns on stderr when it cannot
 * (a database without the health migration yet): the run itself is what matters.
 */
export async function logBackfillRun(db: Database, run: BackfillRun): Promise<void> {
  try {
    await recordBackfillRun(db, run);
  } catch (error) {
    console.error(
      `Could not record the run in clerk_sync.backfill_runs: ${(error as Error).message}`,
    );
  }
}
