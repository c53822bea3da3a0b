/**
 * The manifest of an install: which files of a Supabase project `npm run install-into`
 * wrote, with the SHA-256 of what it wrote. It tells the sync's files from the project's
 * own, an older install from a current one, and a file the user edited from one left as
 * installed. It lives in the function's folder; `supabase functions deploy` bundles only
 * what the function imports, so it is not deployed.
 */
import { FUNCTION_DIR } from "./payload.ts";

/** The manifest's path in the project. */
export const MANIFEST_PATH = `${FUNCTION_DIR}/clerk-webhook-sync.json`;

/** Path in the project → SHA-256 (hex) of the bytes installed there. */
export type Manifest = Record<string, string>;

/**
 * Which release of the sync an install is, as its manifest records it (`"release"`): the
 * `version` of the package.json of the checkout that installed it. Installs made before
 * releases were recorded have none.
 */
export interface Release {
  version?: string;
  commit?: string;
}

/** A project's manifest as read: its files and, if recorded, its release. */
export interface InstalledManifest {
  files: Manifest;
  release: Release | undefined;
}

/** The SHA-256 of `bytes`, in hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The manifest of the project at `project`, or undefined when it has none. */
export async function readManifest(project: string): Promise<InstalledManifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${project}/${MANIFEST_PATH}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as { files?: Manifest; release?: unknown };
  if (typeof parsed.files !== "object" || parsed.files === null) {
    throw new SyntaxError(`${MANIFEST_PATH} has no "files" object`);
  }
  const release = typeof parsed.release === "object" && parsed.release !== null
    ? parsed.release as Record<string, unknown>
    : undefined;
  const field = (name: string) =>
    typeof release?.[name] === "string" ? { [name]: release[name] as string } : {};
  return {
    files: parsed.files,
    release: release === undefined ? undefined : { ...field("version"), ...field("commit") },
  };
}

/**
 * The manifest's text for `files` installed from `release` (left out when it names no
 * version): sorted and without dates, so a rerun writes the same bytes.
 */
export function formatManifest(files: Manifest, release: Release): string {
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a < b ? -1 : 1));
  const manifest = {
    about:
      "Files installed by clerk-webhook-sync (npm run install-into), with the SHA-256 of what " +
      "was installed: an upgrade replaces only the files that still match; keep this file.",
    ...(release.version === undefined ? {} : { release: { version: release.version } }),
    files: sorted,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
