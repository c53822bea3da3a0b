/**
 * examples/supabase_client.ts: a Supabase client signed in with the user's Clerk session,
 * for an app to copy (not deployed; tests/app_session_test.ts runs it).
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";

/** Clerk's session token of the signed-in user, or null when signed out. */
export type GetToken = () => Promise<string | null>;

/**
 * A client whose every request carries the token `getToken` gives: Supabase's third-party
 * auth verifies it with Clerk's keys, and row-level security reads its `sub` (the Clerk
 * user id). Signed out, it acts as `anon`.
 */
export function createSupabaseClient(
  url: string,
  publishableKey: string,
  getToken: GetToken,
): SupabaseClient {
  return createClient(url, publishableKey, { accessToken: getToken });
}
