/**
 * What a Supabase project already defines that the sync would create: tables, views,
 * schemas and functions of the same names in the project's own migrations (a text scan,
 * comments ignored), or another function in `supabase/functions/clerk-webhook`. The
 * install refuses on any of them, naming the file and line.
 */
import { FUNCTION_DIR, MIGRATIONS_DIR } from "./install_payload.ts";
import { MANIFEST_PATH } from "./install_manifest.ts";

/** One thing the project has that the sync would create. */
export interface Clash {
  /** `file:line` in the project. */
  where: string;
  /** What is defined there, and what to do about it. */
  message: string;
}

const TABLES = [
  "users",
  "users_private",
  "organizations",
  "organizations_private",
  "organization_memberships",
  "organization_memberships_private",
];
const FUNCTIONS = [
  "apply_clerk_event",
  "apply_clerk_user_event",
  "record_clerk_refusal",
  "record_clerk_backfill_run",
  "clerk_sync_status",
];
const PUBLIC = String.raw`(?:(?:"public"|public)\s*\.\s*)?`;
const name = (names: string[]) => `(?:"(${names.join("|")})"|(${names.join("|")})\\b)`;

/** The definitions looked for, each with what to tell the user. */
const DEFINITIONS: { pattern: RegExp; describe: (name: string) => string }[] = [
  {
    pattern: new RegExp(
      String.raw`\bcreate\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unlogged)\s+)?` +
        String.raw`(table|view|materialized\s+view)\s+(?:if\s+not\s+exists\s+)?${PUBLIC}${
          name(TABLES)
        }`,
      "gi",
    ),
    describe: (what) =>
      `creates ${what} in schema public, which the sync creates and owns (it keeps Clerk's ` +
      "objects there): rename or move yours (e.g. into another schema) in a new migration, " +
      "then install again",
  },
  {
    pattern: new RegExp(
      String.raw`\bcreate\s+(schema)\s+(?:if\s+not\s+exists\s+)?${name(["clerk_sync", "clerk"])}`,
      "gi",
    ),
    describe: (what) =>
      `creates ${what}, a schema the sync creates for its bookkeeping and policy helpers: ` +
      "rename yours in a new migration, then install again",
  },
  {
    pattern: new RegExp(
      String.raw`\bcreate\s+(?:or\s+replace\s+)?(function)\s+${PUBLIC}${name(FUNCTIONS)}`,
      "gi",
    ),
    describe: (what) =>
      `creates ${what}, a function of the sync: remove it in a new migration, then install again`,
  },
];

/** `text` with SQL comments blanked out, offsets kept. */
function withoutComments(text: string): string {
  return text.replace(/--[^\n]*|\/\*[^]*?\*\//g, (comment) => comment.replace(/[^\n]/g, " "));
}

/** The clashes in one migration's text. */
function scanMigration(path: string, text: string): Clash[] {
  const code = withoutComments(text);
  const clashes: Clash[] = [];
  for (const { pattern, describe } of DEFINITIONS) {
    for (const match of code.matchAll(pattern)) {
      const kind = match[1]!.toLowerCase().replace(/\s+/g, " ");
      const object = match[2] ?? match[3]!;
      const line = code.slice(0, match.index).split("\n").length;
      clashes.push({ where: `${path}:${line}`, message: describe(`${kind} ${object}`) });
    }
  }
  return clashes;
}

/**
 * The clashes in the project at `project`: its migrations other than `ours` (the sync's
 * file names), and its function folder when no manifest says the sync installed it.
 */
export async function findClashes(project: string, ours: Set<string>): Promise<Clash[]> {
  const clashes: Clash[] = [];
  const functionDir = `${project}/${FUNCTION_DIR}`;
  const hasFunction = await Deno.stat(functionDir).then(() => true, () => false);
  const hasManifest = await Deno.stat(`${project}/${MANIFEST_PATH}`).then(() => true, () => false);
  if (hasFunction && !hasManifest) {
    clashes.push({
      where: FUNCTION_DIR,
      message: "holds a function that clerk-webhook-sync did not install (it has no " +
        "clerk-webhook-sync.json): rename that function or remove the folder, then install again",
    });
  }
  const migrations: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${project}/${MIGRATIONS_DIR}`)) {
      if (entry.isFile && entry.name.endsWith(".sql")) migrations.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const file of migrations.sort()) {
    const path = `${MIGRATIONS_DIR}/${file}`;
    if (ours.has(path)) continue;
    clashes.push(...scanMigration(path, await Deno.readTextFile(`${project}/${path}`)));
  }
  return clashes;
}
