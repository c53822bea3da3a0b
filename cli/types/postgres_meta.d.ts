/**
 * The part of `@supabase/postgres-meta` 0.99.0 that generate.ts uses, declared as its own
 * `.d.ts` files declare it. Its own declarations are not loaded: through `@sentry/node`'s
 * OpenTelemetry instrumentations they reach `@types/node` 26, which then types `node:*`
 * for the whole project and breaks WebCrypto code elsewhere (CryptoKey's `usages`).
 */
import type { GeneratorMetadata } from "@supabase/postgrest-typegen";

/** The connection settings (node-postgres' pool settings) that generate.ts passes. */
export interface PoolConfig {
  connectionString: string;
  max?: number;
  connectionTimeoutMillis?: number;
  query_timeout?: number;
  application_name?: string;
}

/** The `{ data, error }` answer of postgres-meta's functions. */
export type PostgresMetaResult<T> =
  | { data: T; error: null }
  | { data: null; error: { message: string } };

/** A connection to a database and what postgres-meta reads from it. */
export class PostgresMeta {
  constructor(config: PoolConfig);
  /** Ends the connection pool. */
  end: () => Promise<void>;
}

/** Reads the catalog of the schemas named (dist/lib/generators.js), then ends the pool. */
export function getGeneratorMetadata(
  pgMeta: PostgresMeta,
  filters?: { includedSchemas?: string[]; excludedSchemas?: string[] },
): Promise<PostgresMetaResult<GeneratorMetadata>>;
