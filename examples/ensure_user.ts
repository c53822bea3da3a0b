/**
 * examples/ensure_user.ts: the signed-in user's row, even right after sign-up, for an app
 * to copy (not deployed; tests/app_session_test.ts runs it).
 */
import type { SupabaseClient } from "@supabase/supabase-js";

/** The signed-in user's row of `public.users` (the README's "The database" lists it). */
export interface User {
  clerk_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  [column: string]: unknown;
}

/**
 * The signed-in user's row. Clerk's webhook may not have arrived yet (just after sign-up,
 * or delayed): then `POST /sync` has the function fetch the user from Clerk, write the
 * row, and answer it.
 */
export async function ensureUser(supabase: SupabaseClient): Promise<User> {
  const { data, error } = await supabase.from("users").select("*").maybeSingle<User>();
  if (error) throw error;
  if (data) return data;
  const synced = await supabase.functions.invoke<{ user: User }>("clerk-webhook/sync", {
    method: "POST",
  });
  if (synced.error) throw synced.error;
  return synced.data!.user;
}
