/**
 * One definition per object: supabase/schemas holds the current definition of the sync,
 * supabase/migrations the deploy history. A database built from each must have the same
 * catalog (dev/catalog.sql): a change to one without the other fails here, naming what
 * differs.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { createDeclaredDatabase, dropDatabases, scratchDatabase } from "../dev/database.ts";

const CATALOG = await Deno.readTextFile(new URL("../dev/catalog.sql", import.meta.url));

/** The catalog of the database at `url`. */
async function catalogOf(url: string): Promise<unknown> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(CATALOG);
    return row!.catalog;
  } finally {
    await sql.end();
  }
}

/** Where two JSON values differ, as `path: left ≠ right` lines (at most `limit`). */
function differences(left: unknown, right: unknown, path = "", limit = 20): string[] {
  if (JSON.stringify(left) === JSON.stringify(right)) return [];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null;
  if (typeof left === "string" && typeof right === "string") {
    // A function's definition: the first line that differs, not the whole body.
    const [a, b] = [left.split("\n"), right.split("\n")];
    const line = a.findIndex((text, i) => text !== b[i]);
    const at = line < 0 ? a.length : line;
    return [
      `${path}, line ${at + 1}:\n  migrations: ${JSON.stringify(a[at] ?? "(end)")}\n  schemas:    ${
        JSON.stringify(b[at] ?? "(end)")
      }`,
    ];
  }
  if (!isObject(left) || !isObject(right) || Array.isArray(left) !== Array.isArray(right)) {
    return [
      `${path || "(root)"}:\n  migrations: ${JSON.stringify(left)}\n  schemas:    ${
        JSON.stringify(right)
      }`,
    ];
  }
  const found: string[] = [];
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of [...keys].sort()) {
    if (found.length >= limit) break;
    found.push(...differences(left[key], right[key], `${path}/${key}`, limit - found.length));
  }
  return found;
}

Deno.test("supabase/schemas and supabase/migrations build the same database: tables, columns, constraints, indexes, triggers, policies, functions, grants, comments", async () => {
  await using migrated = await scratchDatabase();
  const prefix = `${Deno.env.get("CWS_RUN_PREFIX")}_declared`;
  try {
    const declared = await createDeclaredDatabase(`${prefix}_${crypto.randomUUID().slice(0, 8)}`);
    const [fromMigrations, fromSchemas] = [
      await catalogOf(migrated.url),
      await catalogOf(declared),
    ];
    const drift = differences(fromMigrations, fromSchemas);
    assert.deepEqual(
      drift,
      [],
      `supabase/schemas and supabase/migrations differ (change both: a migration for deployed ` +
        `databases, the schema file for the current definition):\n${drift.join("\n")}`,
    );
    // The comparison covers what it claims to: every kind of object is there.
    const catalog = fromSchemas as Record<string, Record<string, unknown>>;
    for (const kind of ["schemas", "tables", "functions", "types"]) {
      assert.ok(Object.keys(catalog[kind] ?? {}).length > 0, `no ${kind} compared`);
    }
  } finally {
    await dropDatabases(prefix);
  }
});
