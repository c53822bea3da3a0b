/**
 * The backfill's speed: every user of a Clerk API stand-in (another process, so that
 * the API is not the limit) paged and applied through a store, as `npm run backfill`
 * does, timed from the first request to the last commit.
 */
import { backfill, backfillKind } from "../cli/backfill/sync.ts";
import { ClerkApi } from "../functions/clerk-webhook/clerk_api.ts";
import type { Database } from "../functions/clerk-webhook/database.ts";
import { createSyncStore } from "../functions/clerk-webhook/sync_store.ts";
import { USER } from "../functions/clerk-webhook/user.ts";

/** What one backfill run did and how fast. */
export interface BackfillResult {
  users: number;
  seconds: number;
  usersPerSecond: number;
}

/**
 * Backfills the users of the stand-in at `apiUrl` into `db`, batching as `npm run
 * backfill` does; all must apply. Closes `db`.
 */
export async function measureBackfill(
  db: Database,
  batching: { maxCalls: number; maxBatch: number },
  api: { url: string; secretKey: string },
): Promise<BackfillResult> {
  const clerk = new ClerkApi({ apiUrl: api.url, secretKey: api.secretKey });
  const store = createSyncStore(db, batching);
  const started = performance.now();
  const summary = await backfill({ kind: backfillKind(USER, clerk, db), store }).finally(() =>
    store.close()
  );
  const seconds = (performance.now() - started) / 1000;
  if (summary.applied !== summary.fetched) {
    throw new Error(`Backfill applied ${summary.applied} of ${summary.fetched} users`);
  }
  return { users: summary.applied, seconds, usersPerSecond: summary.applied / seconds };
}
