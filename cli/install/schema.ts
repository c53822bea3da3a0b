/**
 * The sync's schema for an app that declares its own in `supabase/schemas/`: there,
 * `supabase db diff` compares the database with the schema files, and would plan to drop
 * every object of the sync that no file declares. The install writes this repository's
 * `supabase/schemas/*.sql` as one file, `00_clerk_webhook_sync.sql`: one file is clearly
 * the sync's, and its name sorts before the app's own files, which may refer to the sync's
 * objects.
 */
import type { InstallFile } from "./payload.ts";

/** Where Supabase's declarative schema files live in a project. */
export const SCHEMAS_DIR = "supabase/schemas";
/** The sync's schema file in a project. */
export const SCHEMA_FILE = `${SCHEMAS_DIR}/00_clerk_webhook_sync.sql`;
/** The schema file as `[db.migrations] schema_paths` names it (relative to `supabase/`). */
export const SCHEMA_PATH_ENTRY = "./schemas/00_clerk_webhook_sync.sql";

const HEADER =
  `-- clerk-webhook-sync: the current definition of the sync's objects, for supabase db diff.
-- Written by clerk-webhook-sync's npm run install-into from its supabase/schemas/*.sql, in
-- name order; install-into --upgrade replaces it. The sync's migrations in
-- supabase/migrations create these objects: change them through a release of the sync, not
-- here. Your own schema files may refer to them: this file sorts before yours.
`;

/** Whether the project at `project` declares its schema in `supabase/schemas/`. */
export async function usesSchemaFiles(project: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${project}/${SCHEMAS_DIR}`)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The schema file of the repository at `root`: its `supabase/schemas/*.sql` in name order,
 * each headed by a comment naming it; undefined when it has none.
 */
export async function readSchemaFile(root: URL): Promise<InstallFile | undefined> {
  const dir = new URL(`${SCHEMAS_DIR}/`, root);
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (names.length === 0) return undefined;
  const parts = [HEADER];
  for (const name of names.sort()) {
    const text = await Deno.readTextFile(new URL(name, dir));
    // A part ends with a newline, so that no statement runs into the next part's comment.
    parts.push(
      `\n-- ${"=".repeat(76)}\n-- From clerk-webhook-sync's ${SCHEMAS_DIR}/${name}\n\n` +
        (text.endsWith("\n") ? text : `${text}\n`),
    );
  }
  return { path: SCHEMA_FILE, content: new TextEncoder().encode(parts.join("")) };
}

/**
 * `[db.migrations] schema_paths` as it should be when `paths`, set by the project, does not
 * take the sync's file first; undefined when it does, or when the project leaves it unset
 * (the CLI then reads `./schemas/*.sql` in name order).
 */
export function schemaPathsWithSchemaFile(paths: string[] | undefined): string[] | undefined {
  if (paths === undefined || paths.length === 0) return undefined;
  const first = paths[0]!.replace(/^\.\//, "");
  if (first === SCHEMA_PATH_ENTRY.slice(2) || first === "schemas/*.sql") return undefined;
  return [SCHEMA_PATH_ENTRY, ...paths.filter((path) => path !== SCHEMA_PATH_ENTRY)];
}
