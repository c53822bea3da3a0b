/**
 * What to do after `npm run install-into`: push the migrations, deploy the function,
 * generate the app's types, keep the sync's schema file where the app declares its schema,
 * point a Clerk endpoint at the function, set its secret, backfill, and watch the health.
 */
import { SYNCED_EVENT_TYPES } from "../../functions/clerk-webhook/entities.ts";

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
  /** The sync's schema file in the project, when the install keeps one. */
  schemaFile: string | undefined;
  /**
   * `[db.migrations] schema_paths` as it should be, when the project sets it without the
   * sync's schema file first.
   */
  schemaPaths: string[] | undefined;
  /** Whether config.toml lets Clerk's session tokens into the local stack already. */
  clerkAuth: boolean;
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
  const schema = options.schemaFile === undefined ? [] : [
    `The sync's schema is in ${options.schemaFile}, next to yours: keep it, or`,
    "supabase db diff would plan to drop the sync's objects (install-into --upgrade replaces it).",
    ...(options.schemaPaths === undefined ? [] : [
      "Your supabase/config.toml sets [db.migrations] schema_paths, which install-into leaves as",
      "you wrote it: list the sync's schema file first there, or supabase db diff, which reads",
      "only the files listed, would plan to drop the sync's objects:",
      `  schema_paths = [${options.schemaPaths.map((path) => JSON.stringify(path)).join(", ")}]`,
    ]),
  ];
  return [
    `Next steps, in ${options.project}${release}:`,
    ...(options.projectRef === undefined ? ["  supabase link --project-ref <project-ref>"] : []),
    ...push.map((line) => `  ${line}`),
    "  supabase functions deploy clerk-webhook   # verify_jwt = false is in supabase/config.toml",
    "  supabase gen types typescript --linked > database.types.ts   # yours and the sync's, for supabase-js",
    ...schema,
    "Then in the Clerk dashboard, Configure → Webhooks → Add Endpoint:",
    `  URL: https://${ref}.supabase.co/functions/v1/clerk-webhook`,
    `  Events: ${SYNCED_EVENT_TYPES.join(", ")}`,
    "and give the function the endpoint's Signing Secret:",
    "  supabase secrets set CLERK_WEBHOOK_SECRET=whsec_…",
    'Let the app read the tables with its Clerk session (README, "Use it from your app"):',
    "  Supabase dashboard → Authentication → Sign In / Providers → Third-party auth → Clerk",
    ...(options.clerkAuth ? [] : [
      "  and, for the local stack, [auth.third_party.clerk] in supabase/config.toml (rerun with",
      "  --clerk-domain <your Frontend API host> to add it)",
    ]),
    "and give POST /sync, for the moment right after sign-up, Clerk's keys:",
    "  supabase secrets set CLERK_SECRET_KEY=sk_live_… CLERK_PUBLISHABLE_KEY=pk_live_… \\",
    "    CLERK_AUTHORIZED_PARTIES=https://<your app's origin>",
    `Last, bring in what existed before the endpoint, and check the health, from ${options.repository}:`,
    "  CLERK_SECRET_KEY=sk_live_… DATABASE_URL=postgres://… npm run backfill",
    "  DATABASE_URL=postgres://… npm run status",
  ];
}
