/** The Supabase transport: the sync's SQL functions through the Data API (PostgREST). */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "./database.ts";
import { APPLY_TIMEOUT_MS, storeError } from "./store.ts";

/** HTTP statuses that say "try again": PostgREST's 503, gateways and time-outs. */
const TRANSIENT_STATUSES = new Set([0, 408, 429, 502, 503, 504, 520, 521, 522, 523, 524]);

/** A supabase-js client for server use: a key, no user session to keep or refresh. */
export function createServerClient(url: string, key: string): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/** Options of {@linkcode openSupabaseDatabase}. */
export interface SupabaseDatabaseOptions {
  /** Milliseconds before a call without a signal of its own is aborted (default 8,000). */
  timeoutMs?: number;
}

/** The project at `url`, called with the server key `key` (service_role). */
export function openSupabaseDatabase(
  url: string,
  key: string,
  options: SupabaseDatabaseOptions = {},
): Database {
  const client = createServerClient(url, key);
  const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS;
  return {
    async call(name, args = {}, { signal } = {}) {
      const { data, error, status } = await client
        .rpc(name, args)
        .abortSignal(signal ?? AbortSignal.timeout(timeoutMs));
      if (error !== null) throw rpcError(error, status);
      return data;
    },
    close: () => Promise.resolve(),
  };
}

/**
 * A failed call. PostgREST answers 500 to some passing conditions (57014, 55P03; a 40001 it
 * retries itself), and 400 with an empty code to the first request on a pooled connection
 * the database dropped (PostgREST 12 to 14, issue #4681): the SQLSTATE in the body decides
 * as well as the status, and no SQLSTATE means the call never reached a statement.
 */
function rpcError(error: { code?: string; message: string }, status: number): Error {
  return storeError({
    code: error.code,
    message: `Supabase RPC failed with ${status}: ${error.code ?? ""} ${error.message}`,
    transient: TRANSIENT_STATUSES.has(status),
  });
}
