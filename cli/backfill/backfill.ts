/**
 * `npm run backfill -- [--reconcile] [--dry-run] [--page-size=N] [--max-deletes=N]`:
 * brings every entity the sync keeps that Clerk lists (users, organizations, memberships,
 * billing subscription items, waitlist entries) to the state of Clerk's Backend API,
 * through the webhook's SQL function, skipping in one line the entities of a feature the
 * instance has off (organizations, billing), and saying in one line which it cannot list
 * (billing subscriptions, payment attempts). Progress and the summary go to stderr, a dry
 * run's plan to stdout.
 * Exits 0 when done, 1 when it failed or skipped invalid objects, 2 on a usage or
 * configuration error.
 */
import { parseArgs } from "node:util";
import {
  ConfigError,
  type DatabaseConfig,
  readDatabaseConfig,
} from "../../functions/clerk-webhook/config.ts";
import { ENTITIES } from "../../functions/clerk-webhook/entities.ts";
import { type ClerkFeature, isListed } from "../../functions/clerk-webhook/entity.ts";
import { openDatabase } from "../../functions/clerk-webhook/open_database.ts";
import { createSyncStore } from "../../functions/clerk-webhook/sync_store.ts";
import { type BackfillRun, logBackfillRun } from "./log.ts";
import {
  backfill,
  BACKFILL_BATCHING,
  backfillKind,
  type BackfillSummary,
  progress,
} from "./sync.ts";
import {
  ClerkApi,
  MAX_PAGE_SIZE,
  readClerkApiConfig,
} from "../../functions/clerk-webhook/clerk_api.ts";
import { commandLine } from "../command_line.ts";

const USAGE =
  `Usage: npm run backfill -- [--reconcile] [--dry-run] [--page-size=N] [--max-deletes=N]

Applies every user, organization and membership of the Clerk instance to
public.users, public.organizations and public.organization_memberships, and its billing
subscription items and waitlist entries to public.billing_subscription_items and
public.waitlist_entries, as the webhook would. On an instance with organizations (or billing)
off, their rows are left as they are. Billing subscriptions and payment attempts, which
Clerk lists only per payer, come from their webhooks alone.
  --reconcile       also delete the rows of objects Clerk no longer has
                    (each one confirmed with Clerk before it is deleted)
  --dry-run         print what would be created, updated and deleted; change nothing
  --page-size=N     objects per request to Clerk, 1 to ${MAX_PAGE_SIZE} (default ${MAX_PAGE_SIZE})
  --max-deletes=N   let --reconcile delete up to N rows of each table
                    (default: 10 % of its rows, at least 10)

Environment: CLERK_SECRET_KEY (required: the instance's Secret key, sk_live_… or sk_test_…),
CLERK_API_URL (default https://api.clerk.com), and DATABASE_URL, or else SUPABASE_URL with
SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY.`;

/** Why the entities of a feature are skipped, as printed and as the run log keeps it. */
const offReason = (feature: ClerkFeature) => `${feature.name} are off on this Clerk instance`;

interface Arguments {
  help: boolean;
  reconcile: boolean;
  dryRun: boolean;
  pageSize: number;
  maxDeletes: number | undefined;
}

function parseArguments(args: string[]): Arguments {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: "boolean", short: "h", default: false },
      reconcile: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      "page-size": { type: "string", default: String(MAX_PAGE_SIZE) },
      "max-deletes": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const pageSize = wholeNumber("--page-size", values["page-size"]);
  if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new TypeError(`--page-size must be 1 to ${MAX_PAGE_SIZE}: got ${pageSize}`);
  }
  const maxDeletes = values["max-deletes"];
  return {
    help: values.help,
    reconcile: values.reconcile,
    dryRun: values["dry-run"],
    pageSize,
    maxDeletes: maxDeletes === undefined ? undefined : wholeNumber("--max-deletes", maxDeletes),
  };
}

function wholeNumber(option: string, value: string): number {
  if (!/^[0-9]{1,9}$/.test(value)) {
    throw new TypeError(`${option} must be a whole number: got "${value}"`);
  }
  return Number(value);
}

/** Where the rows are, without credentials. */
function describeDatabase(database: DatabaseConfig): string {
  if (database.transport === "supabase") return `the Supabase project at ${database.url}`;
  const url = new URL(database.url);
  return `the database ${url.pathname.slice(1) || "postgres"} on ${url.host}`;
}

function describeSummary(summary: BackfillSummary, dryRun: boolean, noun: string): string {
  if (!dryRun) return `Backfill complete: ${progress(summary, false, noun)}`;
  const { create, update, deleted, unchanged } = summary;
  return `Dry run complete, nothing changed: ${progress(summary, true, noun)}; ` +
    `would create ${create}, update ${update}, delete ${deleted}; ${unchanged} unchanged`;
}

async function main(): Promise<number> {
  const args = commandLine(parseArguments, USAGE);
  if (typeof args === "number") return args;

  const env = (name: string) => Deno.env.get(name);
  let database: DatabaseConfig;
  let clerk: ClerkApi;
  try {
    clerk = new ClerkApi({
      ...readClerkApiConfig(env),
      onRetry: ({ request, reason, delayMs, attempt, attempts }) => {
        const seconds = delayMs / 1000;
        console.error(
          `${request}: ${reason}; retrying in ${seconds} s (attempt ${attempt} of ${attempts})`,
        );
      },
    });
    database = readDatabaseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    return 2;
  }

  // One database for the run: two calls of the store in flight, and the reads and the log.
  const db = await openDatabase(database, {
    connections: BACKFILL_BATCHING.maxCalls + 1,
    applicationName: "clerk-backfill",
  });
  const store = createSyncStore(db, BACKFILL_BATCHING);
  const run: BackfillRun = {
    startedAt: new Date(),
    reconcile: args.reconcile,
    summaries: {},
    skipped: {},
    error: undefined,
  };
  console.error(
    `${args.dryRun ? "Dry run against" : "Backfilling"} ${describeDatabase(database)}` +
      `${args.reconcile ? ", with reconcile" : ""}`,
  );
  try {
    // Whether each feature is on, asked once, when its first entity comes.
    const features = new Map<ClerkFeature, Promise<boolean>>();
    let invalid = 0;
    for (const entity of ENTITIES.filter(isListed)) {
      const { feature } = entity.clerk;
      if (feature !== undefined) {
        if (!features.has(feature)) features.set(feature, clerk.enabled(feature));
        if (!await features.get(feature)) {
          // Nothing of it is read, so nothing of it is created, updated or deleted.
          run.skipped[entity.plural] = offReason(feature);
          continue;
        }
      }
      const kind = backfillKind(entity, clerk, db);
      const summary = await backfill({
        kind,
        store,
        reconcile: args.reconcile,
        dryRun: args.dryRun,
        pageSize: args.pageSize,
        ...(args.maxDeletes === undefined ? {} : { maxDeletes: args.maxDeletes }),
        onProgress: (line) => console.error(line),
        onPlan: (action, clerkId) => console.log(`${action} ${clerkId}`),
      });
      console.error(describeSummary(summary, args.dryRun, kind.noun));
      run.summaries[kind.noun] = summary;
      invalid += summary.invalid;
    }
    for (const [feature, enabled] of features) {
      if (await enabled) continue;
      const plurals = ENTITIES.filter((entity) => entity.clerk?.feature === feature)
        .map((entity) => entity.plural);
      const skipped = plurals.length === 1
        ? plurals[0]!
        : `${plurals.slice(0, -1).join(", ")} and ${plurals.at(-1)}`;
      console.error(
        `${skipped[0]!.toUpperCase()}${skipped.slice(1)} skipped: ${offReason(feature)} ` +
          `(GET ${feature.probe} answered 403${
            feature.offCode === undefined ? "" : ` ${feature.offCode}`
          })`,
      );
    }
    const unlisted = ENTITIES.filter((entity) => !isListed(entity)).map((entity) => entity.plural);
    if (unlisted.length > 0) {
      console.error(
        `${unlisted.join(" and ").replace(/^./, (first) => first.toUpperCase())} not backfilled: ` +
          "Clerk's Backend API does not list them instance-wide (their webhooks keep them)",
      );
    }
    if (invalid > 0) {
      const objects = invalid === 1 ? "object was" : "objects were";
      console.error(`${invalid} invalid ${objects} skipped: see "Skipping" above`);
      return 1;
    }
    return 0;
  } catch (error) {
    run.error = (error as Error).message;
    console.error(`Backfill failed: ${run.error}`);
    return 1;
  } finally {
    if (!args.dryRun) await logBackfillRun(db, run);
    await store.close();
  }
}

Deno.exit(await main());
