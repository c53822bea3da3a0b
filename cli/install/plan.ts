/**
 * What installing the sync into a Supabase project would do to each file, from three
 * versions of it: what the sync ships now, what is on disk, and what the manifest says was
 * installed. A file on disk that differs from both what was installed and what ships is
 * the user's: it is never replaced without `--force`. A migration is never replaced at
 * all: `supabase db push` never runs a version it has applied again, so a rewritten
 * migration would leave the databases that applied it silently different from the code.
 */
import { type InstallFile, MIGRATIONS_DIR } from "./payload.ts";
import { type Manifest, sha256 } from "./manifest.ts";

/** What happens to one file. */
export type FileAction =
  /** Not in the project: written. */
  | "add"
  /** As installed, and the sync ships a newer version: replaced. */
  | "update"
  /** Already what the sync ships. */
  | "unchanged"
  /**
   * Edited by the user, and the sync ships what was installed: left as edited. A migration
   * too: the install changes nothing the user's databases applied.
   */
  | "keep-edit"
  /**
   * A migration the project has under a name the sync ships, with other content than it
   * ships (and not merely edited by the user from what it ships): refused whatever the options.
   */
  | "rewrite"
  /** Holds content that is neither what was installed nor what ships: needs --force. */
  | "conflict"
  /** Installed, as installed, no longer shipped, and not a migration: deleted. */
  | "remove"
  /** Installed, no longer shipped, but edited (or a migration): left, no longer tracked. */
  | "release";

/** One file's fate. */
export interface PlannedFile {
  path: string;
  action: FileAction;
  /** The bytes to write (add, update, conflict). */
  content?: Uint8Array;
  /** What the manifest says was installed there, if anything. */
  installed?: string;
  /** The hash the manifest keeps after the install (absent: dropped from it). */
  hash?: string;
}

/** The plan for a project. */
export interface InstallPlan {
  /** Whether the project holds an install already (it has a manifest). */
  installed: boolean;
  files: PlannedFile[];
}

const isMigration = (path: string) => path.startsWith(`${MIGRATIONS_DIR}/`);

/** The SHA-256 of the file at `path`, or undefined when there is none. */
async function hashOf(path: string): Promise<string | undefined> {
  try {
    return await sha256(await Deno.readFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Plans installing `payload` into the project at `project`, holding `manifest` if any. */
export async function planInstall(
  project: string,
  payload: InstallFile[],
  manifest: Manifest | undefined,
): Promise<InstallPlan> {
  const files: PlannedFile[] = [];
  const shipped = new Set(payload.map((file) => file.path));
  for (const file of payload) {
    const wanted = await sha256(file.content);
    const current = await hashOf(`${project}/${file.path}`);
    const installed = manifest?.[file.path];
    const planned = (action: FileAction, hash = wanted): PlannedFile => ({
      path: file.path,
      action,
      content: file.content,
      hash,
      ...(installed === undefined ? {} : { installed }),
    });
    if (current === wanted) files.push(planned("unchanged"));
    else if (current === undefined) files.push(planned("add"));
    else if (installed === wanted) files.push(planned("keep-edit", installed));
    else if (isMigration(file.path)) files.push(planned("rewrite", current));
    else if (installed === current) files.push(planned("update"));
    else files.push(planned("conflict"));
  }
  for (const [path, installed] of Object.entries(manifest ?? {})) {
    if (shipped.has(path)) continue;
    const current = await hashOf(`${project}/${path}`);
    if (current === undefined) continue;
    const removable = !isMigration(path) && current === installed;
    files.push({ path, action: removable ? "remove" : "release" });
  }
  return { installed: manifest !== undefined, files };
}
