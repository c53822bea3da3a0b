/**
 * What to do after `npm run install-into`: push the migrations, deploy the function, point
 * a Clerk endpoint at it, set its secret, backfill, and watch the health.
 */
import { SYNCED_EVENT_TYPES } from "../functions/clerk-webhook/entities.ts";

/** What the next steps depend on. */
export interface NextStepsOptions {
  /** The project's folder, as the user named it. */
  project: string;
  /** The linked project's ref (`supabase/.temp/project-ref`), if linked. */
  projectRef: string | undefined;
  /**
   * The project's own newest migration when it is newer than a migration the install
   * added: `supabase db push` then needs `--include-all`.
   */
  newerOwnMigration: string | undefined;
  /** This repository's folder, where `npm run backfill` runs. */
  repository: string;
  /** The release installed (package.json's version), if this checkout has one. */
  release: string | undefined;
}

/** The next steps, as lines to print. */
export function nextSteps(options: NextStepsOptions): string[] {
  const ref = options.projectRef ?? "<project-ref>";
  const push = options.newerOwnMigration === undefined ? ["supabase db push"] : [
    "supabase db push --include-all",
    `   (--include-all: the sync's migrations are older than your ${options.newerOwnMigration};`,
    "   without it, db push refuses migrations older than the last one applied)",
  ];
  const release = options.release === undefined
    ? ""
    : ` (clerk-webhook-sync ${options.release}; CHANGELOG.md in ${options.repository} says what it brings)`;
  return [
    `Next steps, in ${options.project}${release}:`,
    ...(options.projectRef === undefined ? ["  supabase link --project-ref <project-ref>"] : []),
    ...push.map((line) => `  ${line}`),
    "  supabase functions deploy clerk-webhook   # verify_jwt = false is in supabase/config.toml",
    "Then in the Clerk dashboard, Configure → Webhooks → Add Endpoint:",
    `  URL: https://${ref}.supabase.co/functions/v1/clerk-webhook`,
    `  Events: ${SYNCED_EVENT_TYPES.join(", ")}`,
    "and give the function the endpoint's Signing Secret:",
    "  supabase secrets set CLERK_WEBHOOK_SECRET=whsec_…",
    `Last, bring in what existed before the endpoint, and check the health, from ${options.repository}:`,
    "  CLERK_SECRET_KEY=sk_live_… DATABASE_URL=postgres://… npm run backfill",
    "  DATABASE_URL=postgres://… npm run status",
  ];
}
