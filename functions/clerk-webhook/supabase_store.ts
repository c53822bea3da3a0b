/** The Supabase transport: public.apply_clerk_events() through the Data API (PostgREST). */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { groupCommit, type GroupCommitOptions } from "./group_commit.ts";
import {
  APPLY_TIMEOUT_MS,
  type BatchArguments,
  refusalArguments,
  schemaCheck,
  storeError,
  type SyncStore,
  toOutcomes,
} from "./store.ts";

/** Options of {@linkcode createSupabaseStore}. */
export interface SupabaseStoreOptions extends Pick<GroupCommitOptions, "maxCalls" | "maxBatch"> {
  /** Milliseconds before a delivery is answered as unavailable. */
  timeoutMs?: number;
}

/** HTTP statuses that say "try again": PostgREST's 503, gateways and time-outs. */
const TRANSIENT_STATUSES = new Set([0, 408, 429, 502, 503, 504, 520, 521, 522, 523, 524]);

/** A supabase-js client for server use: a key, no user session to keep or refresh. */
export function createServerClient(url: string, key: string): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/** A client for the project at `url`, acting with the server key `key` (service_role). */
export function createSupabaseStore(
  url: string,
  key: string,
  options: SupabaseStoreOptions = {},
): SyncStore {
  const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS;
  const client = createServerClient(url, key);

  const checkSchema = schemaCheck(async () => {
    const { data, error, status } = await client
      .rpc("clerk_sync_schema_version")
      .abortSignal(AbortSignal.timeout(timeoutMs));
    if (error !== null) throw rpcError(error, status);
    return data;
  });
  const applyBatch = async (args: BatchArguments) => {
    await checkSchema();
    // The call is aborted at the deadline; PostgREST's transaction refuses to commit
    // after it anyway.
    const wait = args.p_deadline === null ? timeoutMs : Date.parse(args.p_deadline) - Date.now();
    const { data, error, status } = await client
      .rpc("apply_clerk_events", args)
      .abortSignal(AbortSignal.timeout(Math.max(0, wait)));
    if (error !== null) throw rpcError(error, status);
    return toOutcomes(data, args.p_events.length);
  };
  return {
    ...groupCommit(applyBatch, { ...options, timeoutMs }),
    async recordRefusal(refusal) {
      const { error, status } = await client
        .rpc("record_clerk_refusal", refusalArguments(refusal))
        .abortSignal(AbortSignal.timeout(timeoutMs));
      if (error !== null) throw rpcError(error, status);
    },
    checkSchema,
    close: () => Promise.resolve(),
  };
}

/**
 * A failed call. PostgREST answers 500 to some passing conditions (40001, 57014,
 * 55P03): the SQLSTATE in the body decides as well as the status.
 */
function rpcError(error: { code?: string; message: string }, status: number): Error {
  return storeError({
    code: error.code,
    message: `Supabase RPC failed with ${status}: ${error.code ?? ""} ${error.message}`,
    transient: TRANSIENT_STATUSES.has(status),
  });
}
