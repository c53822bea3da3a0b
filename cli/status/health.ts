/**
 * Whether the sync looks healthy, judged from its status: a sync that has users but
 * received no webhook delivery for a while has stalled (the endpoint is disabled, the
 * secret is wrong, the function is down), and a high share of refused deliveries means
 * Svix is retrying messages that will fail again.
 */
import type { SyncStatus } from "./read.ts";

/** The thresholds of {@linkcode judgeHealth}. */
export interface HealthThresholds {
  /** No delivery for longer than this, with users present: stalled (milliseconds). */
  stallAfterMs: number;
  /** Refused share of the last day's deliveries above which the sync is unhealthy (0 to 1). */
  maxRefusedShare: number;
}

/** Default thresholds: a day without deliveries, a tenth refused. */
export const DEFAULT_THRESHOLDS: HealthThresholds = {
  stallAfterMs: 24 * 60 * 60 * 1000,
  maxRefusedShare: 0.1,
};

/** The verdict: healthy when there is no warning. */
export interface Health {
  healthy: boolean;
  warnings: string[];
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `90s`, `30m`, `6h` or `2d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^([0-9]{1,6})([smhd])$/.exec(text);
  if (match === null || Number(match[1]) === 0) {
    throw new TypeError(`Not a duration like 30m, 6h or 2d: "${text}"`);
  }
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** `ms` as the largest whole unit it holds: `6 h`, `90 min`, `45 s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} days`;
}

/** Judges `status` against `thresholds`; every warning says what to look at. */
export function judgeHealth(
  status: SyncStatus,
  thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
): Health {
  const warnings: string[] = [];
  const now = Date.parse(status.checked_at);
  const last = status.last_delivery_at === null ? undefined : Date.parse(status.last_delivery_at);
  const limit = formatDuration(thresholds.stallAfterMs);
  const check =
    "check the endpoint in the Clerk dashboard (Webhooks: disabled? failed attempts?), " +
    "the function's logs and CLERK_WEBHOOK_SECRET";
  if (status.users > 0 && last === undefined) {
    warnings.push(
      `Stalled: ${status.users} ${status.users === 1 ? "user" : "users"} but no webhook ` +
        `delivery recorded: ${check}`,
    );
  } else if (status.users > 0 && last !== undefined && now - last > thresholds.stallAfterMs) {
    warnings.push(
      `Stalled: no webhook delivery for ${formatDuration(now - last)} ` +
        `(since ${status.last_delivery_at}; the limit is ${limit}): ${check}`,
    );
  }

  const day = status.deliveries.last_day;
  const total = day.applied + day.stale + day.ignored + day.refused;
  const share = total === 0 ? 0 : day.refused / total;
  if (day.refused > 0 && share > thresholds.maxRefusedShare) {
    warnings.push(
      `Refusing: ${day.refused} of ${total} deliveries in the last day were refused ` +
        `(${Math.round(share * 100)} %, the limit is ${
          Math.round(thresholds.maxRefusedShare * 100)
        } %): ` +
        "see the refusals below and the function's logs",
    );
  }

  const run = status.last_run;
  if (run !== null && !run.ok) {
    warnings.push(
      `The last backfill run (finished ${run.finished_at}) did not complete: ` +
        `${run.error ?? "it skipped invalid objects"}; run npm run backfill again`,
    );
  }
  return { healthy: warnings.length === 0, warnings };
}
