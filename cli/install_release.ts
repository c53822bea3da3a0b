/**
 * Which release a project holds compared with this checkout, from the sync's migrations:
 * they are only ever added, so an install listing a migration this checkout lacks is of a
 * newer release, and one lacking a migration this checkout has is of an older one. With the
 * same migrations the function's files may still differ (another checkout of the same
 * release, or files removed), and nothing tells which is newer.
 */
import type { InstalledManifest } from "./install_manifest.ts";
import { type InstallFile, MIGRATIONS_DIR } from "./install_payload.ts";

/** How the install compares with this checkout. */
export type Standing =
  | { state: "none" }
  | { state: "same" }
  /** `added`: this checkout's migrations the install lacks. */
  | { state: "older"; added: string[] }
  /** `unknown`: the install's migrations this checkout lacks. */
  | { state: "newer"; unknown: string[] };

const migrationsOf = (paths: string[]) =>
  paths.filter((path) => path.startsWith(`${MIGRATIONS_DIR}/`)).sort();

/** How the install of `manifest` (undefined: none) compares with the `payload` of this checkout. */
export function compareRelease(
  manifest: InstalledManifest | undefined,
  payload: InstallFile[],
): Standing {
  if (manifest === undefined) return { state: "none" };
  const installed = migrationsOf(Object.keys(manifest.files));
  const shipped = migrationsOf(payload.map((file) => file.path));
  const unknown = installed.filter((path) => !shipped.includes(path));
  if (unknown.length > 0) return { state: "newer", unknown };
  const added = shipped.filter((path) => !installed.includes(path));
  return added.length > 0 ? { state: "older", added } : { state: "same" };
}
