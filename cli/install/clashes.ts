/**
 * What in a Supabase project stands in the sync's way. Clashes, on which the install
 * refuses: another function in `supabase/functions/clerk-webhook`, or an object the
 * project's migrations define under a name the sync's migrations create. Warnings: a
 * project migration that refers to an object of the sync but sorts before the sync's
 * migration that creates it.
 *
 * The migrations, the project's and the sync's, are followed statement by statement in
 * name order, as `supabase db push` applies them to a fresh database
 * (install_statements.ts says what is followed). A clash is an object of the project that
 * exists when a sync migration creates the same name, or one the project creates after the
 * sync did; the message names the file and line that created it and the migration that
 * would fix it, dated so that `db push` applies it in time.
 */
import { FUNCTION_DIR, MIGRATIONS_DIR } from "./payload.ts";
import { MANIFEST_PATH } from "./manifest.ts";
import { lineAt, splitStatements } from "./sql.ts";
import {
  effectsOf,
  objectKey,
  type ObjectName,
  qualifiedName,
  referencesOf,
} from "./statements.ts";

/** One thing in the project that the install refuses on, or warns about. */
export interface Clash {
  /** `file:line` in the project. */
  where: string;
  /** What is defined there, and what to do about it. */
  message: string;
}

/** A migration: its path in the project, its text, and whether it is one of the sync's. */
export interface Migration {
  path: string;
  text: string;
  sync: boolean;
}

/** What the scan found. */
export interface Findings {
  clashes: Clash[];
  warnings: Clash[];
}

/** A place in a migration. */
interface Place {
  path: string;
  line: number;
}

/** An object as the walk knows it: who created it, where, and how it was called. */
interface Defined extends Place {
  object: ObjectName;
  what: string;
  sync: boolean;
}

/** A clash found on the way, and the project's statement that renames or drops it too late. */
interface Found {
  /** The project's object. */
  own: Defined;
  /** The sync's migration that creates the same name. */
  syncPath: string;
  /** Whether the project's creation sorts after the sync's. */
  after: boolean;
  late?: Place & { verb: string };
}

const fileName = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** The migration named as `<version - 1 s>_<what>.sql`, which sorts just before `path`. */
function justBefore(path: string, what: string): string {
  const version = fileName(path).slice(0, 14);
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((at, index) =>
    Number(version.slice(at, index === 0 ? 4 : at + 2))
  );
  const time = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!) - 1000);
  const stamp = time.toISOString().replace(/\D/g, "").slice(0, 14);
  return `${MIGRATIONS_DIR}/${stamp}_${what}.sql`;
}

/** `alter … rename to app_<name>;` for `own`; with `ifExists`, a no-op where it is missing. */
function renameStatement(own: Defined, ifExists: boolean): string {
  const name = qualifiedName(own.object);
  const to = `app_${own.object.name}`;
  if (own.object.kind === "function") {
    const rename = `alter ${own.what} ${name} rename to ${to};`;
    return ifExists
      ? `do $$ begin if to_regproc('${name}') is not null then ${rename} end if; end $$;`
      : rename;
  }
  return `alter ${own.what}${ifExists ? " if exists" : ""} ${name} rename to ${to};`;
}

/** The refusal's message for `found`. */
function describe(found: Found): string {
  const { own, syncPath } = found;
  const syncFile = fileName(syncPath);
  const what = `${own.what} ${qualifiedName(own.object)}`;
  const fix = justBefore(syncPath, `rename_${own.object.name}`);
  if (found.after) {
    return `creates ${what}, which the sync's ${syncFile} creates before it (supabase db push ` +
      "applies migrations in name order): give yours another name in that migration " +
      `(e.g. app_${own.object.name}); if a database has applied it already, also add a ` +
      `migration that sorts before ${syncFile} and renames it there, e.g. ${fix} with:\n` +
      `      ${renameStatement(own, true)}\n    then install again`;
  }
  if (found.late !== undefined) {
    const late = fileName(found.late.path);
    const moved = justBefore(syncPath, late.replace(/^\d+_?/, "").replace(/\.sql$/, ""));
    return `creates ${what}, which the sync's ${syncFile} creates too; your ` +
      `${found.late.path}:${found.late.line} ${found.late.verb} it, but sorts after ${syncFile}, ` +
      "so on a fresh database supabase db push (which applies migrations in name order) " +
      `fails there first: give that migration a name that sorts between ${fileName(own.path)} ` +
      `and ${syncFile}, e.g. ${moved}, then install again`;
  }
  return `creates ${what}, which the sync's ${syncFile} creates too, after it: rename yours ` +
    `in a new migration that sorts between ${fileName(own.path)} and ${syncFile}, so that ` +
    `supabase db push renames it before the sync creates its own, e.g. ${fix} with:\n` +
    `      ${renameStatement(own, false)}\n    then install again`;
}

/** The error `db push` stops with when `object` is missing. */
function missing(object: ObjectName): string {
  return object.kind === "relation"
    ? `relation "${qualifiedName(object)}" does not exist`
    : `function ${qualifiedName(object)}(…) does not exist`;
}

/** Where each object the sync creates is first created, by key. */
function syncCatalogue(migrations: Migration[]): Map<string, Defined> {
  const catalogue = new Map<string, Defined>();
  for (const migration of migrations.filter((migration) => migration.sync)) {
    for (const statement of splitStatements(migration.text)) {
      for (const effect of effectsOf(statement)) {
        const key = objectKey(effect.object);
        if (effect.op !== "create" || catalogue.has(key)) continue;
        const line = lineAt(migration.text, effect.offset);
        catalogue.set(key, {
          path: migration.path,
          line,
          object: effect.object,
          what: effect.what,
          sync: true,
        });
      }
    }
  }
  return catalogue;
}

/**
 * Follows `migrations` (the project's and the sync's) in name order: the clashes between
 * the project's objects and the sync's, and the project's references to the sync's objects
 * made before the sync creates them.
 */
export function scanMigrations(migrations: Migration[]): Findings {
  const ordered = [...migrations].sort((a, b) => fileName(a.path) < fileName(b.path) ? -1 : 1);
  const catalogue = syncCatalogue(ordered);
  const known = new Map(
    [...catalogue].filter(([, defined]) => defined.object.kind !== "schema")
      .map(([key, defined]) => [key, defined.object]),
  );
  const state = new Map<string, Defined>();
  /** The project's objects that a sync migration created over, by key. */
  const shadowed = new Map<string, Found>();
  const found: Found[] = [];
  const warnings: Clash[] = [];

  /** Renames or moves `from` (a schema with what is in it) to `to`, or drops it (`to` undefined). */
  const change = (from: ObjectName, to: ObjectName | undefined, place: Place) => {
    for (const [key, defined] of [...state]) {
      const inSchema = from.kind === "schema" && defined.object.schema === from.name;
      if (key !== objectKey(from) && !inSchema) continue;
      state.delete(key);
      if (to === undefined) continue;
      const object = inSchema ? { ...defined.object, schema: to.name } : to;
      // The name now comes from this statement.
      state.set(objectKey(object), { ...defined, ...(inSchema ? {} : place), object });
    }
  };

  for (const migration of ordered) {
    const warned = new Set<string>();
    for (const statement of splitStatements(migration.text)) {
      if (!migration.sync) {
        for (const reference of referencesOf(statement, known)) {
          const key = objectKey(reference.object);
          const creator = catalogue.get(key)!;
          if (state.has(key) || warned.has(key)) continue;
          if (fileName(creator.path) < fileName(migration.path)) continue;
          warned.add(key);
          warnings.push({
            where: `${migration.path}:${lineAt(migration.text, reference.offset)}`,
            message: `refers to ${qualifiedName(reference.object)}, which the sync's ` +
              `${fileName(creator.path)} creates, and that migration sorts after this one: ` +
              "supabase db push applies migrations in name order, so on a fresh database " +
              "(supabase db reset, a new project or branch) this statement fails with " +
              `${missing(reference.object)}. Databases that have applied it already are not ` +
              `affected. Rename this migration to sort after ${fileName(creator.path)} (if no ` +
              "database has applied it yet), or move the statement into a new migration " +
              "(supabase migration new …)",
          });
        }
      }
      for (const effect of effectsOf(statement)) {
        const key = objectKey(effect.object);
        const place = { path: migration.path, line: lineAt(migration.text, effect.offset) };
        if (effect.op === "create") {
          const existing = state.get(key);
          const defined = {
            ...place,
            object: effect.object,
            what: effect.what,
            sync: migration.sync,
          };
          if (existing === undefined) state.set(key, defined);
          else if (existing.sync === migration.sync) continue;
          else if (migration.sync) {
            const clash = { own: existing, syncPath: migration.path, after: false };
            found.push(clash);
            shadowed.set(key, clash);
            state.set(key, defined);
          } else found.push({ own: defined, syncPath: existing.path, after: true });
          continue;
        }
        const clash = migration.sync ? undefined : shadowed.get(key);
        if (clash !== undefined) {
          // The project's statement acts on its own object, which the walk keeps aside.
          clash.late = { ...place, verb: effect.op === "drop" ? "drops" : "renames" };
          shadowed.delete(key);
        } else change(effect.object, effect.op === "rename" ? effect.to : undefined, place);
      }
    }
  }
  // Renaming a schema of the project's moves what is in it: one clash says it all.
  const schemas = new Set(
    found.filter((clash) => clash.own.object.kind === "schema").map((clash) =>
      clash.own.object.name
    ),
  );
  return {
    clashes: found.filter((clash) => !schemas.has(clash.own.object.schema)).map((clash) => ({
      where: `${clash.own.path}:${clash.own.line}`,
      message: describe(clash),
    })),
    warnings,
  };
}

/** The project's migrations other than the sync's (`ours`: the sync's paths), in name order. */
async function projectMigrations(project: string, ours: Set<string>): Promise<Migration[]> {
  const migrations: Migration[] = [];
  try {
    for await (const entry of Deno.readDir(`${project}/${MIGRATIONS_DIR}`)) {
      const path = `${MIGRATIONS_DIR}/${entry.name}`;
      if (!entry.isFile || !entry.name.endsWith(".sql") || ours.has(path)) continue;
      migrations.push({ path, text: await Deno.readTextFile(`${project}/${path}`), sync: false });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return migrations;
}

/**
 * The clashes and warnings in the project at `project`, which is to receive the sync's
 * `sync` migrations: its own migrations (all but `ours`, the sync's file paths) followed
 * with the sync's, and its function folder when no manifest says the sync installed it.
 */
export async function findClashes(
  project: string,
  ours: Set<string>,
  sync: Migration[],
): Promise<Findings> {
  const findings = scanMigrations([...await projectMigrations(project, ours), ...sync]);
  const functionDir = `${project}/${FUNCTION_DIR}`;
  const hasFunction = await Deno.stat(functionDir).then(() => true, () => false);
  const hasManifest = await Deno.stat(`${project}/${MANIFEST_PATH}`).then(() => true, () => false);
  if (hasFunction && !hasManifest) {
    findings.clashes.unshift({
      where: FUNCTION_DIR,
      message: "holds a function that clerk-webhook-sync did not install (it has no " +
        "clerk-webhook-sync.json): rename that function or remove the folder, then install again",
    });
  }
  return findings;
}
