/**
 * `npm run types -- [--db-url <postgres://…>] [--schema public] [--out <file>]`: writes
 * the TypeScript types of a database with Supabase's own generator, as
 * `supabase gen types typescript` does in Docker. Without `--db-url`, the types of the
 * sync's own schema (supabase/migrations on a fresh database) into `database.types.ts`;
 * with it, those of any database, an app's with its own tables. Exits 0 when written, 1
 * when the database cannot be read, 2 on a usage error.
 */
import { parseArgs } from "node:util";
import { relative, resolve } from "node:path";
import { commandLine } from "../command_line.ts";
import { DEFAULT_SCHEMAS, generateTypes, redactUrl } from "./generate.ts";
import { openSyncDatabase } from "./sync_database.ts";

const ROOT = resolve(new URL("../../", import.meta.url).pathname);

/** The sync's types, committed; tests/types_test.ts checks them against the migrations. */
const SYNC_TYPES = `${ROOT}/database.types.ts`;

const USAGE = `Usage: npm run types -- [--db-url <postgres://…>] [--schema public] [--out <file>]

Writes the TypeScript types of a database's tables, views and functions with Supabase's own
generator (what supabase gen types typescript runs in Docker), for createClient<Database>().
  (no --db-url)   the sync's schema: supabase/migrations applied with supabase db push to a
                  new database on an embedded PostgreSQL 17 (or TEST_DATABASE_URL's server),
                  written to database.types.ts in this repository
  --db-url URL    read this database instead (an app's, with its own tables); --out is then
                  required
  --schema NAME   a schema to include; repeat it, or separate names with commas (default
                  public, as the Supabase CLI)
  --out FILE      the file to write, relative to where you run npm`;

interface Arguments {
  help: boolean;
  dbUrl: string | undefined;
  schemas: string[];
  out: string | undefined;
}

function parseArguments(args: string[]): Arguments {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: "boolean", short: "h", default: false },
      "db-url": { type: "string" },
      schema: { type: "string", short: "s", multiple: true },
      out: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const schemas = (values.schema ?? []).flatMap((names) => names.split(",")).map((name) =>
    name.trim()
  );
  if (schemas.some((name) => name === "")) {
    throw new TypeError(`--schema needs schema names: got "${values.schema!.join(",")}"`);
  }
  const dbUrl = values["db-url"];
  if (dbUrl !== undefined && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new TypeError(`--db-url must be a postgres:// or postgresql:// URL: got "${dbUrl}"`);
  }
  if (dbUrl !== undefined && values.out === undefined) {
    throw new TypeError(
      "With --db-url, name the file to write with --out (database.types.ts here holds the " +
        "sync's own types)",
    );
  }
  return {
    help: values.help,
    dbUrl,
    schemas: schemas.length > 0 ? schemas : [...DEFAULT_SCHEMAS],
    out: values.out,
  };
}

async function main(): Promise<number> {
  const args = commandLine(parseArguments, USAGE);
  if (typeof args === "number") return args;
  // npm runs scripts from this repository's folder; INIT_CWD is where the user typed.
  const here = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  const out = args.out === undefined ? SYNC_TYPES : resolve(here, args.out);
  let types: string;
  let source: string;
  try {
    if (args.dbUrl === undefined) {
      await using database = await openSyncDatabase();
      source = database.description;
      types = await generateTypes(database.url, { schemas: args.schemas });
    } else {
      source = redactUrl(args.dbUrl);
      types = await generateTypes(args.dbUrl, { schemas: args.schemas });
    }
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  await Deno.writeTextFile(out, types);
  const shown = out.startsWith(`${ROOT}/`) ? relative(ROOT, out) : out;
  console.log(`Wrote ${shown}: schema ${args.schemas.join(", ")} of ${source}`);
  return 0;
}

Deno.exit(await main());
