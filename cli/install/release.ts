/**
 * Which release a project holds compared with this checkout. This checkout's release is
 * the `version` of its package.json; an install records the one it installed in its
 * manifest. When both name a version, the versions decide; the migrations decide too,
 * since they are only ever added: an install listing a migration this checkout lacks is of
 * a newer release, and one lacking a migration this checkout has is of an older one. With
 * the same release the function's files may still differ (another checkout of the same
 * release, or files removed), and nothing tells which is newer.
 */
import type { InstalledManifest, Release } from "./manifest.ts";
import { type InstallFile, MIGRATIONS_DIR } from "./payload.ts";

/** How the install compares with this checkout. */
export type Standing =
  | { state: "none" }
  | { state: "same" }
  /** `added`: this checkout's migrations the install lacks (none when only the version says so). */
  | { state: "older"; added: string[] }
  /** `unknown`: the install's migrations this checkout lacks (none when only the version says so). */
  | { state: "newer"; unknown: string[] };

const migrationsOf = (paths: string[]) =>
  paths.filter((path) => path.startsWith(`${MIGRATIONS_DIR}/`)).sort();

/** `major.minor.patch` as numbers, or undefined for anything else. */
function versionParts(version: string | undefined): number[] | undefined {
  const match = version?.match(/^(\d+)\.(\d+)\.(\d+)$/);
  return match ? match.slice(1).map(Number) : undefined;
}

/** Whether `a` is an older (-1), the same (0) or a newer (1) version than `b`; 0 when unknown. */
function compareVersions(a: string | undefined, b: string | undefined): number {
  const [left, right] = [versionParts(a), versionParts(b)];
  if (left === undefined || right === undefined) return 0;
  const at = left.findIndex((part, index) => part !== right[index]);
  return at === -1 ? 0 : Math.sign(left[at]! - right[at]!);
}

/** This checkout's release: the `version` of the package.json at `root`, if it has one. */
export async function readRelease(root: URL): Promise<Release> {
  const { version } = JSON.parse(await Deno.readTextFile(new URL("package.json", root))) as {
    version?: unknown;
  };
  return typeof version === "string" ? { version } : {};
}

/** The two releases in words: `this checkout is 1.0.0; the project has 1.2.0`. */
export function describeReleases(checkout: Release, installed: Release | undefined): string {
  const ours = checkout.version ?? "unversioned (its package.json has no version)";
  const theirs = installed?.version === undefined
    ? "the project's install records no version"
    : `the project has ${installed.version}`;
  const commit = installed?.commit === undefined ? "" : `, commit ${installed.commit}`;
  return `this checkout is ${ours}; ${theirs}${commit}`;
}

/**
 * How the install of `manifest` (undefined: none) compares with this checkout, which ships
 * `payload` as `release`.
 */
export function compareRelease(
  manifest: InstalledManifest | undefined,
  payload: InstallFile[],
  release: Release,
): Standing {
  if (manifest === undefined) return { state: "none" };
  const installed = migrationsOf(Object.keys(manifest.files));
  const shipped = migrationsOf(payload.map((file) => file.path));
  const unknown = installed.filter((path) => !shipped.includes(path));
  const byVersion = compareVersions(manifest.release?.version, release.version);
  if (unknown.length > 0 || byVersion > 0) return { state: "newer", unknown };
  const added = shipped.filter((path) => !installed.includes(path));
  return added.length > 0 || byVersion < 0 ? { state: "older", added } : { state: "same" };
}
