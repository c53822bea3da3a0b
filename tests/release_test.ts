/**
 * Releases: a migration that shipped never changes. `supabase/migrations.sha256` lists the
 * SHA-256 of every migration of every release (as `sha256sum` writes it); a migration not
 * listed is a new one, for the next release, and must sort after every listed one. The
 * version in package.json is a release of CHANGELOG.md.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const HASHES = new URL("supabase/migrations.sha256", ROOT);
const MIGRATIONS = new URL("supabase/migrations/", ROOT);

/** The SHA-256 of `bytes`, in hex. */
async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The shipped migrations: file name → SHA-256. */
async function shipped(): Promise<Map<string, string>> {
  const lines = (await Deno.readTextFile(HASHES)).split("\n").filter((line) => line !== "");
  return new Map(lines.map((line) => {
    const match = line.match(/^([0-9a-f]{64}) {2}supabase\/migrations\/(\S+\.sql)$/);
    assert.ok(match, `supabase/migrations.sha256: not a sha256sum line: ${line}`);
    return [match[2]!, match[1]!];
  }));
}

const migrations = [...Deno.readDirSync(MIGRATIONS)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith(".sql"))
  .sort();

Deno.test("a migration that shipped in a release is never edited or removed", async () => {
  const changed: string[] = [];
  for (const [name, hash] of await shipped()) {
    const bytes = await Deno.readFile(new URL(name, MIGRATIONS)).catch(() => undefined);
    if (bytes === undefined) changed.push(`${name}: removed`);
    else if (await sha256(bytes) !== hash) changed.push(`${name}: edited`);
  }
  assert.deepEqual(
    changed,
    [],
    "Shipped migrations changed: put the change in a new migration (and in supabase/schemas/), " +
      "and restore these with `git checkout` of the release tag",
  );
});

Deno.test("a migration not yet released sorts after every released one", async () => {
  const released = [...(await shipped()).keys()].sort();
  const last = released.at(-1)!;
  const misplaced = migrations.filter((name) => !released.includes(name) && name < last);
  assert.deepEqual(
    misplaced,
    [],
    `These migrations are not in supabase/migrations.sha256 yet sort before ${last}, the newest ` +
      "released one: supabase db push would skip them on databases that applied it; rename them to a " +
      "later timestamp",
  );
});

Deno.test("package.json's version is a release of CHANGELOG.md, which names its migrations", async () => {
  const { version } = JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT)));
  assert.match(version, /^\d+\.\d+\.\d+$/, "package.json has no release version");
  const changelog = await Deno.readTextFile(new URL("CHANGELOG.md", ROOT));
  const heading = changelog.match(new RegExp(`^## ${version.replaceAll(".", "\\.")} — .*$`, "m"));
  assert.ok(heading, `CHANGELOG.md has no "## ${version} — <date>" section`);
  for (const name of (await shipped()).keys()) {
    assert.ok(changelog.includes(`\`${name}\``), `CHANGELOG.md does not name ${name}`);
  }
});
