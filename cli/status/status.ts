/**
 * `npm run status -- [--json] [--stall-after=24h] [--max-refused=10]`: the sync's health
 * from `public.clerk_sync_status()`: webhook deliveries by outcome, refusals, the last
 * event of each type, the last backfill run and the ledger. Exits 0 when healthy, 1 when
 * unhealthy (stalled, too many refusals, a failed backfill) or unreadable, 2 on a usage
 * or configuration error, so that a scheduled job can alert on it.
 */
import { parseArgs } from "node:util";
import { ConfigError, readDatabaseConfig } from "../../functions/clerk-webhook/config.ts";
import { openDatabase } from "../../functions/clerk-webhook/open_database.ts";
import {
  DEFAULT_THRESHOLDS,
  formatDuration,
  type Health,
  type HealthThresholds,
  judgeHealth,
  parseDuration,
} from "./health.ts";
import { readSyncStatus, type SyncStatus } from "./read.ts";
import { commandLine } from "../command_line.ts";

const USAGE = `Usage: npm run status -- [--json] [--stall-after=DURATION] [--max-refused=PERCENT]

Prints the health of the Clerk sync from public.clerk_sync_status().
  --json                 print the status and the verdict as JSON
  --stall-after=24h      unhealthy when users exist but no webhook delivery arrived for
                         this long (s, m, h or d; default 24h)
  --max-refused=10       unhealthy when more than this percentage of the last day's
                         deliveries were refused (default 10)

Exit status: 0 healthy, 1 unhealthy or unreadable, 2 usage or configuration error.
Environment: DATABASE_URL, or else SUPABASE_URL with SUPABASE_SECRET_KEYS or
SUPABASE_SERVICE_ROLE_KEY (as for npm run backfill).`;

interface Arguments {
  help: boolean;
  json: boolean;
  thresholds: HealthThresholds;
}

function parseArguments(args: string[]): Arguments {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: "boolean", short: "h", default: false },
      json: { type: "boolean", default: false },
      "stall-after": { type: "string" },
      "max-refused": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const stall = values["stall-after"];
  const refused = values["max-refused"];
  if (refused !== undefined && !/^(100|[0-9]{1,2})$/.test(refused)) {
    throw new TypeError(`--max-refused must be a percentage from 0 to 100: got "${refused}"`);
  }
  return {
    help: values.help,
    json: values.json,
    thresholds: {
      stallAfterMs: stall === undefined ? DEFAULT_THRESHOLDS.stallAfterMs : parseDuration(stall),
      maxRefusedShare: refused === undefined
        ? DEFAULT_THRESHOLDS.maxRefusedShare
        : Number(refused) / 100,
    },
  };
}

/** `at` with its age relative to the status's clock, or "never". */
function when(status: SyncStatus, at: string | null): string {
  if (at === null) return "never";
  return `${at} (${formatDuration(Date.parse(status.checked_at) - Date.parse(at))} ago)`;
}

/** The rows of the synced tables in the order of their entities, open invitations beside all. */
function describeRows(rows: Record<string, number>): string {
  const { open_invitations: open, ...tables } = rows;
  return Object.entries(tables).sort(([a], [b]) => rowOrder(a) - rowOrder(b))
    .map(([table, count]) =>
      `${count} ${table.replaceAll("_", " ")}${
        table === "invitations" && open !== undefined ? ` (${open} open)` : ""
      }`
    ).join(", ");
}

const ROW_ORDER = [
  "organizations",
  "memberships",
  "invitations",
  "roles",
  "permissions",
  "domains",
  "subscriptions",
  "subscription_items",
  "payment_attempts",
  "waitlist_entries",
];

/** Where `table` goes in the line: the known tables first, in entity order. */
function rowOrder(table: string): number {
  const index = ROW_ORDER.indexOf(table);
  return index === -1 ? ROW_ORDER.length : index;
}

/** The status as text, for a person. */
function describe(status: SyncStatus, health: Health): string {
  const { last_hour: hour, last_day: day } = status.deliveries;
  const lines = [
    `Clerk sync status at ${status.checked_at}`,
    `Users: ${status.users}`,
    ...(status.rows === undefined ? [] : [`Rows: ${describeRows(status.rows)}`]),
    "Webhook deliveries   last hour   last day",
    ...(["applied", "stale", "ignored", "refused"] as const).map((outcome) =>
      `  ${outcome.padEnd(18)} ${String(hour[outcome]).padStart(9)} ${
        String(day[outcome]).padStart(10)
      }`
    ),
    `Last webhook delivery: ${when(status, status.last_delivery_at)}`,
  ];
  const types = Object.entries(status.last_by_type).sort(([a], [b]) => a.localeCompare(b));
  if (types.length > 0) {
    lines.push("Last delivery of each event type:");
    for (const [type, { received_at }] of types) {
      lines.push(`  ${type.padEnd(32)} ${when(status, received_at)}`);
    }
  }
  lines.push(`Refused deliveries: ${status.refusals.total} recorded`);
  for (const refusal of status.refusals.recent) {
    const since = refusal.delivered_since ? ", delivered since" : "";
    lines.push(
      `  ${refusal.svix_id}  ${refusal.event_type ?? "-"}  ${refusal.status}  ` +
        `${refusal.reason ?? ""} (${refusal.attempts} attempts, last ${refusal.last_at}${since})`,
    );
  }
  const run = status.last_run;
  if (run === null) {
    lines.push("Last backfill run: none recorded");
  } else {
    const took = formatDuration(Date.parse(run.finished_at) - Date.parse(run.started_at));
    lines.push(
      `Last backfill run: ${run.mode}, finished ${when(status, run.finished_at)}, ` +
        `took ${took}, ${run.ok ? "ok" : `failed: ${run.error ?? "invalid objects skipped"}`}`,
    );
    for (const [kind, c] of Object.entries(run.counts)) {
      lines.push(
        "skipped" in c
          ? `  ${kind}: skipped: ${c.skipped}`
          : `  ${kind}: fetched ${c.fetched}, applied ${c.applied}, stale ${c.stale}, ` +
            `duplicate ${c.duplicate}, deleted ${c.deleted}, invalid ${c.invalid}`,
      );
    }
  }
  lines.push(
    `Ledger: ${status.ledger.entries} entries, oldest ${when(status, status.ledger.oldest_at)}`,
  );
  lines.push(
    health.healthy ? "Healthy" : `Unhealthy:\n${health.warnings.map((w) => `  ${w}`).join("\n")}`,
  );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const args = commandLine(parseArguments, USAGE);
  if (typeof args === "number") return args;
  let status: SyncStatus;
  try {
    const db = await openDatabase(readDatabaseConfig((name) => Deno.env.get(name)), {
      connections: 1,
      applicationName: "clerk-status",
    });
    try {
      status = await readSyncStatus(db);
    } finally {
      await db.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      return 2;
    }
    console.error(
      `Cannot read public.clerk_sync_status(): ${(error as Error).message}\n` +
        "Is the database reachable, and are the migrations applied (supabase db push)?",
    );
    return 1;
  }
  const health = judgeHealth(status, args.thresholds);
  if (args.json) {
    console.log(JSON.stringify({ ...status, health }, null, 2));
  } else {
    console.log(describe(status, health));
  }
  return health.healthy ? 0 : 1;
}

Deno.exit(await main());
