/**
 * The TypeScript types of a database, byte for byte as `supabase gen types typescript
 * --db-url` prints them, without Docker: the CLI (2.117.0) runs the image
 * supabase/postgres-meta v0.99.0, whose type-generation mode reads the catalog with
 * `getGeneratorMetadata()` and writes the types with `@supabase/postgrest-typegen`'s
 * `generateTypescript()` (formatted by oxfmt), then prints them with `console.log`. The
 * same two functions, from the same packages at the versions of that image, run here.
 */
import { EventEmitter } from "node:events";
// @ts-types="./postgres_meta.d.ts"
import { PostgresMeta } from "@supabase/postgres-meta";
// @ts-types="./postgres_meta.d.ts"
import { getGeneratorMetadata } from "@supabase/postgres-meta/dist/lib/generators.js";
import { generateTypescript } from "@supabase/postgrest-typegen";

/** The schemas the Supabase CLI includes when `--schema` names none. */
export const DEFAULT_SCHEMAS: readonly string[] = ["public"];

/** Which types to generate. */
export interface GenerateTypesOptions {
  /** The schemas to include, as the CLI's `--schema`; {@linkcode DEFAULT_SCHEMAS} by default. */
  schemas?: readonly string[];
}

/** `url` without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * The types of the database at `url` as the Supabase CLI prints them with `--db-url`:
 * one-to-one relationships detected, no PostgREST version, `public` as the default
 * schema of the helper types, and the newline `console.log` ends them with.
 */
export async function generateTypes(
  url: string,
  options: GenerateTypesOptions = {},
): Promise<string> {
  // As the CLI runs the generator: one connection, 15 s to connect and per query.
  const pgMeta = new PostgresMeta({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: 15_000,
    query_timeout: 15_000,
    application_name: "clerk-webhook-sync types (postgres-meta 0.99.0)",
  });
  // postgres-meta adds an error listener to its pool for each query and leaves it there
  // until the pool ends; past ten, Node would print a MaxListenersExceededWarning.
  const maxListeners = EventEmitter.defaultMaxListeners;
  EventEmitter.defaultMaxListeners = 0;
  let metadata;
  try {
    const { data, error } = await getGeneratorMetadata(pgMeta, {
      includedSchemas: [...(options.schemas ?? DEFAULT_SCHEMAS)],
    });
    if (error) {
      throw new Error(
        `Cannot read the catalog of ${redactUrl(url)}: ${error.message}\n` +
          "Is the server running, and do the URL's user, password and database name work " +
          "with psql?",
      );
    }
    metadata = data;
  } finally {
    EventEmitter.defaultMaxListeners = maxListeners;
  }
  const types = await generateTypescript(metadata, {
    detectOneToOneRelationships: true,
    defaultSchema: "public",
  });
  return `${types}\n`;
}
