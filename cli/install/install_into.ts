/**
 * `npm run install-into -- <project> [--upgrade] [--force]`: installs the sync into a
 * Supabase project: the function into `supabase/functions/clerk-webhook/` with its own
 * `deno.json`, the migrations into `supabase/migrations/` under their own names, the
 * sync's schema as `supabase/schemas/00_clerk_webhook_sync.sql` when the project has
 * `supabase/schemas/`, and `[functions.clerk-webhook] verify_jwt = false` into
 * `supabase/config.toml`; its manifest records the release (package.json's version).
 * Refuses, writing nothing, when the project holds a newer release or a migration other
 * than the one this checkout ships under its name (whatever the options), when it defines
 * what the sync creates, when it holds an older or different install (`--upgrade` updates
 * it), or when a file to replace was edited (`--force`). Warns about the project's
 * migrations that refer to the sync's objects before the sync's migrations create them.
 * Exits 0 when installed or up to date, 1 when it refused, 2 on a usage error.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import {
  addFunctionSection,
  CLERK_DOMAIN,
  CONFIG_PATH,
  enableClerkAuth,
  readClerkAuth,
  readFunctionSection,
  readSchemaPaths,
} from "./config_toml.ts";
import { findClashes } from "./clashes.ts";
import {
  formatManifest,
  type InstalledManifest,
  type Manifest,
  MANIFEST_PATH,
  readManifest,
} from "./manifest.ts";
import { compareRelease, describeReleases, readRelease, type Standing } from "./release.ts";
import { nextSteps } from "./next_steps.ts";
import { FUNCTION_DIR, MIGRATIONS_DIR, readPayload } from "./payload.ts";
import {
  readSchemaFile,
  SCHEMA_FILE,
  schemaPathsWithSchemaFile,
  usesSchemaFiles,
} from "./schema.ts";
import { type InstallPlan, planInstall, type PlannedFile } from "./plan.ts";
import type { Release } from "./manifest.ts";
import { commandLine } from "../command_line.ts";

const ROOT = new URL("../../", import.meta.url);

const USAGE =
  `Usage: npm run install-into -- <path of a Supabase project> [--upgrade] [--force] [--clerk-domain <host>]

Installs the clerk-webhook function, its migrations, its config.toml section and, when the
project has supabase/schemas/, its schema file into the project (the folder holding
supabase/config.toml; run supabase init there first).
  --upgrade   update an earlier install: add the new migrations, update the function's files
  --force     replace files you edited (see the list it prints first; commit them before)
  --clerk-domain <host>
              the Clerk instance's Frontend API host (example.clerk.accounts.dev): adds
              [auth.third_party.clerk] to config.toml for the local stack, when it has none`;

interface Arguments {
  help: boolean;
  upgrade: boolean;
  force: boolean;
  clerkDomain: string | undefined;
  project: string | undefined;
}

function parseArguments(args: string[]): Arguments {
  const { values, positionals } = parseArgs({
    args,
    options: {
      help: { type: "boolean", short: "h", default: false },
      upgrade: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "clerk-domain": { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1) {
    throw new TypeError(`One project at a time: got ${positionals.length} paths`);
  }
  const { "clerk-domain": clerkDomain, ...flags } = values;
  if (clerkDomain !== undefined && !CLERK_DOMAIN.test(clerkDomain)) {
    throw new TypeError(
      `--clerk-domain "${clerkDomain}" is not a Clerk Frontend API host ` +
        "(example.clerk.accounts.dev, or clerk.<your domain>; Clerk dashboard → Domains)",
    );
  }
  return { ...flags, clerkDomain, project: positionals[0] };
}

/** Lines describing `files`, one per file: `  <verb> <path>`. */
function describeFiles(files: PlannedFile[], force: boolean): string[] {
  const verbs: Record<PlannedFile["action"], string> = {
    add: "added",
    update: "updated",
    unchanged: "unchanged",
    "keep-edit": "kept your edit of",
    conflict: force ? "replaced your version of" : "would replace your version of",
    remove: "removed (no longer part of the sync)",
    release: "left in place, no longer tracked (no longer part of the sync)",
    rewrite: "left as it is (a migration is never rewritten)",
  };
  return files.filter((file) => file.action !== "unchanged").map((file) =>
    `  ${verbs[file.action]} ${file.path}`
  );
}

/** Reads the link's project ref, which `supabase link` keeps in supabase/.temp. */
async function projectRef(project: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(`${project}/supabase/.temp/project-ref`)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The project's own newest migration, if newer than the oldest migration `plan` adds. */
async function newerOwnMigration(project: string, plan: InstallPlan): Promise<string | undefined> {
  const added = plan.files
    .filter((file) => file.action === "add" && file.path.startsWith(`${MIGRATIONS_DIR}/`))
    .map((file) => file.path.slice(MIGRATIONS_DIR.length + 1))
    .sort();
  if (added.length === 0) return undefined;
  const ours = new Set(plan.files.map((file) => file.path.slice(MIGRATIONS_DIR.length + 1)));
  const own: string[] = [];
  for await (const entry of Deno.readDir(`${project}/${MIGRATIONS_DIR}`)) {
    if (entry.isFile && entry.name.endsWith(".sql") && !ours.has(entry.name)) own.push(entry.name);
  }
  const newest = own.sort().at(-1);
  return newest !== undefined && newest > added[0]! ? newest : undefined;
}

/** The refusal to replace a newer release: what the install has that this checkout lacks. */
function newerRelease(
  project: string,
  manifest: InstalledManifest,
  unknown: string[],
  context: { named: string; release: Release },
): string[] {
  const root = resolve(ROOT.pathname);
  return [
    `Cannot install clerk-webhook-sync into ${project}: it has a newer release installed than ` +
    `this checkout (${root}), which would take it back to an older one: ` +
    `${describeReleases(context.release, manifest.release)}.`,
    ...(unknown.length === 0 ? [] : [
      "  installed there, missing here:",
      ...unknown.map((path) => `    ${path}`),
    ]),
    `Update this checkout (git pull in ${root}) or use one at least as new as the installed ` +
    "release, then rerun with --upgrade:",
    `  npm run install-into -- ${context.named} --upgrade`,
  ];
}

/** The refusal to rewrite migrations: which, why, and what to do. */
function rewriteRefusal(
  project: string,
  plan: InstallPlan,
  context: { rewrites: PlannedFile[]; releases: string },
): string[] {
  const root = resolve(ROOT.pathname);
  const state = (file: PlannedFile) =>
    file.installed === undefined
      ? plan.installed ? "not listed in the install's manifest" : "there before any install"
      : file.installed === file.hash
      ? "as installed: the sync shipped other content under this name"
      : "edited since it was installed";
  const edited = context.rewrites.find((file) => file.installed !== file.hash);
  return [
    `Cannot ${plan.installed ? "upgrade" : "install"} clerk-webhook-sync in ${project}: ` +
    "these migrations differ from the ones this checkout ships under the same names" +
    `${plan.installed ? ` (${context.releases})` : ""}:`,
    ...context.rewrites.map((file) => `  ${file.path} (${state(file)})`),
    "install-into never rewrites a migration, with or without --upgrade or --force: " +
    "supabase db push never runs a migration version it has applied again, so every database " +
    "that applied the project's version would silently differ from the code; and a released " +
    "migration never changes.",
    ...(edited === undefined ? [] : [
      "If the difference is your own edit and no database has applied it, restore the sync's " +
      "version and install again, e.g.",
      `  cp ${root}/${edited.path} ${project}/${edited.path}`,
    ]),
    `${edited === undefined ? "Keep" : "Otherwise keep"} the files as they are and report ` +
    "this message to clerk-webhook-sync's maintainers: a change to a released migration is " +
    "fixed by a new migration, not by an edit.",
  ];
}

/** Why a rerun without --upgrade would change files, as the first line of its refusal. */
function whyUpgrade(project: string, standing: Standing, releases: string): string {
  return standing.state === "older"
    ? `${project} holds an older release of clerk-webhook-sync than this checkout ` +
      `(${releases}). Rerun with --upgrade to:`
    : `${project} holds clerk-webhook-sync with the same migrations as this checkout but ` +
      `other files (${releases}; installed from another checkout of this release, or files ` +
      "removed). If this checkout is the one to install, rerun with --upgrade to:";
}

/** The release in the first line of the output: ` 1.0.0`, ` from 0.9.0 to 1.0.0`, or ``. */
function releaseChange(from: Release | undefined, to: Release, installed: boolean): string {
  if (to.version === undefined) return "";
  if (!installed) return ` ${to.version}`;
  if (from?.version === to.version) return ` (${to.version})`;
  return from?.version === undefined
    ? ` to ${to.version}`
    : ` from ${from.version} to ${to.version}`;
}

function refuse(lines: string[]): number {
  console.error(lines.join("\n"));
  console.error("Nothing was written.");
  return 1;
}

async function main(): Promise<number> {
  const args = commandLine(parseArguments, USAGE);
  if (typeof args === "number") return args;
  if (!args.project) {
    console.error(`Which project? Name its folder.\n\n${USAGE}`);
    return 2;
  }
  // npm runs scripts from this repository's folder; INIT_CWD is where the user typed.
  const project = resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), args.project);
  if (project === resolve(ROOT.pathname)) {
    console.error(
      `${project} is clerk-webhook-sync itself: name the folder of your Supabase project`,
    );
    return 2;
  }
  let configText: string;
  try {
    configText = await Deno.readTextFile(`${project}/${CONFIG_PATH}`);
  } catch {
    console.error(
      `${project} is not a Supabase project: it has no ${CONFIG_PATH} (run supabase init there first)`,
    );
    return 2;
  }

  const release = await readRelease(ROOT);
  const schemaFile = await usesSchemaFiles(project) ? await readSchemaFile(ROOT) : undefined;
  const payload = [...await readPayload(ROOT), ...(schemaFile === undefined ? [] : [schemaFile])];
  const manifest = await readManifest(project);
  const standing = compareRelease(manifest, payload, release);
  if (standing.state === "newer") {
    return refuse(
      newerRelease(project, manifest!, standing.unknown, { named: args.project, release }),
    );
  }
  const ours = new Set([
    ...payload.map((file) => file.path),
    ...Object.keys(manifest?.files ?? {}),
  ]);
  const decoder = new TextDecoder();
  const { clashes, warnings } = await findClashes(
    project,
    ours,
    payload.filter((file) => file.path.startsWith(`${MIGRATIONS_DIR}/`))
      .map((file) => ({ path: file.path, text: decoder.decode(file.content), sync: true })),
  );
  for (const warning of warnings) console.error(`Warning: ${warning.where} ${warning.message}\n`);
  let section;
  let schemaPaths;
  let clerkAuth;
  try {
    section = readFunctionSection(configText);
    clerkAuth = readClerkAuth(configText);
    if (schemaFile !== undefined) schemaPaths = readSchemaPaths(configText);
  } catch (error) {
    const { message } = error as Error;
    clashes.push({
      where: CONFIG_PATH,
      message: error instanceof TypeError
        ? `${message}, then install again`
        : `is not valid TOML: ${message}`,
    });
  }
  if (section?.state === "conflict") {
    clashes.push({
      where: `${CONFIG_PATH}${section.line === undefined ? "" : `:${section.line}`}`,
      message: `has [functions.clerk-webhook] already: ${section.problem}, then install again`,
    });
  }
  if (clashes.length > 0) {
    return refuse([
      `Cannot install clerk-webhook-sync into ${project}: it already defines what the sync creates.`,
      ...clashes.map((clash) => `  ${clash.where} ${clash.message}`),
    ]);
  }

  const plan = await planInstall(project, payload, manifest?.files);
  const releases = describeReleases(release, manifest?.release);
  const rewrites = plan.files.filter((file) => file.action === "rewrite");
  if (rewrites.length > 0) return refuse(rewriteRefusal(project, plan, { rewrites, releases }));
  const conflicts = plan.files.filter((file) => file.action === "conflict");
  const changes = plan.files.filter((file) => !["unchanged", "keep-edit"].includes(file.action));
  const addSection = section?.state === "absent";
  // The table `supabase init` writes is disabled: enabled, it is the project's to keep.
  const addClerk = args.clerkDomain !== undefined && clerkAuth?.enabled !== true;
  // An install that recorded its version is upgraded when this checkout's differs.
  const installedVersion = manifest?.release?.version;
  const otherVersion = installedVersion !== undefined && release.version !== undefined &&
    installedVersion !== release.version;
  const recordRelease = plan.installed && release.version !== undefined &&
    installedVersion !== release.version;
  if (conflicts.length > 0 && !args.force) {
    return refuse([
      `Cannot ${plan.installed ? "upgrade" : "install"} clerk-webhook-sync in ${project}: ` +
      "these files differ from what it installed and from what it ships (edited by you?):",
      ...conflicts.map((file) => `  ${file.path}`),
      "Keep a copy of your changes (commit them), then rerun with --force to replace them, " +
      "or move your changes elsewhere and restore the files.",
    ]);
  }
  if (plan.installed && (changes.length > 0 || addSection || otherVersion) && !args.upgrade) {
    return refuse([
      whyUpgrade(project, standing, releases),
      ...describeFiles(changes, args.force),
      ...(addSection ? [`  add [functions.clerk-webhook] to ${CONFIG_PATH}`] : []),
    ]);
  }

  const next: Manifest = {};
  for (const file of plan.files) {
    if (file.hash !== undefined) next[file.path] = file.hash;
  }
  const manifestText = formatManifest(next, release);
  const manifestChanged = await Deno.readTextFile(`${project}/${MANIFEST_PATH}`).then(
    (text) => text !== manifestText,
    () => true,
  );
  if (changes.length === 0 && !addSection && !addClerk && !manifestChanged) {
    console.log(
      `Nothing to change: ${project} has this version of clerk-webhook-sync ` +
        `(${release.version === undefined ? "" : `${release.version}, `}` +
        `${plan.files.length} files checked).`,
    );
    for (const line of describeFiles(plan.files, args.force)) console.log(line);
    return 0;
  }

  await Deno.mkdir(`${project}/${FUNCTION_DIR}`, { recursive: true });
  await Deno.mkdir(`${project}/${MIGRATIONS_DIR}`, { recursive: true });
  for (const file of changes) {
    if (file.action === "remove") await Deno.remove(`${project}/${file.path}`);
    else if (file.content !== undefined) {
      await Deno.writeFile(`${project}/${file.path}`, file.content);
    }
  }
  if (manifestChanged) await Deno.writeTextFile(`${project}/${MANIFEST_PATH}`, manifestText);
  if (addSection || addClerk) {
    const withFunction = addSection ? addFunctionSection(configText) : configText;
    await Deno.writeTextFile(
      `${project}/${CONFIG_PATH}`,
      addClerk ? enableClerkAuth(withFunction, args.clerkDomain!) : withFunction,
    );
  }

  const change = releaseChange(manifest?.release, release, plan.installed);
  if (plan.installed) console.log(`Upgraded clerk-webhook-sync in ${project}${change}:`);
  else console.log(`Installed clerk-webhook-sync${change} in ${project}:`);
  for (const line of describeFiles(plan.files, args.force)) console.log(line);
  if (addSection) {
    console.log(`  added [functions.clerk-webhook] verify_jwt = false to ${CONFIG_PATH}`);
  }
  if (addClerk) {
    console.log(
      `  added [auth.third_party.clerk] domain = "${args.clerkDomain}" to ${CONFIG_PATH}`,
    );
  }
  if (recordRelease) console.log(`  recorded release ${release.version} in ${MANIFEST_PATH}`);
  console.log("");
  const steps = nextSteps({
    project,
    projectRef: await projectRef(project),
    newerOwnMigration: await newerOwnMigration(project, plan),
    repository: resolve(ROOT.pathname),
    release: release.version,
    schemaFile: schemaFile === undefined ? undefined : SCHEMA_FILE,
    schemaPaths: schemaFile === undefined ? undefined : schemaPathsWithSchemaFile(schemaPaths),
    clerkAuth: clerkAuth?.enabled === true || addClerk,
  });
  for (const line of steps) console.log(line);
  return 0;
}

Deno.exit(await main());
