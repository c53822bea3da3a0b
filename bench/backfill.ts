/**
 * The backfill's speed: every user of a Clerk API stand-in (another process, so that
 * the API is not the limit) paged and applied through a store, as `npm run backfill`
 * does, timed from the first request to the last commit.
 */
import { backfill, backfillKinds } from "../cli/backfill_sync.ts";
import { ClerkApi } from "../cli/clerk_api.ts";
import type { SyncStore } from "../functions/clerk-webhook/store.ts";

/** What one backfill run did and how fast. */
export interface BackfillResult {
  users: number;
  seconds: number;
  usersPerSecond: number;
}

/** Backfills the users of the stand-in at `apiUrl` through `store`; all must apply. */
export async function measureBackfill(
  store: SyncStore,
  api: { url: string; secretKey: string },
): Promise<BackfillResult> {
  const clerk = new ClerkApi({ apiUrl: api.url, secretKey: api.secretKey });
  // Without reconcile or a dry run the backfill never reads the table.
  const kinds = backfillKinds(clerk, () => () => Promise.resolve(new Map()));
  const started = performance.now();
  const summary = await backfill({ kind: kinds.users, store });
  const seconds = (performance.now() - started) / 1000;
  if (summary.applied !== summary.fetched) {
    throw new Error(`Backfill applied ${summary.applied} of ${summary.fetched} users`);
  }
  return { users: summary.applied, seconds, usersPerSecond: summary.applied / seconds };
}
