-- The schema version, so that a function deployed before `supabase db push` says so.
--
-- public.clerk_sync_schema_version() answers the name (timestamp) of the newest migration
-- whose objects the code relies on. The clerk-webhook function reads it before its first
-- write and answers 503 with "run supabase db push" while the database is older than the
-- code (Svix retries until the migration lands); `npm start` and `npm run backfill` stop
-- with the same advice. A later migration that the code needs redefines it with its own
-- timestamp.

create function public.clerk_sync_schema_version()
returns text
language sql
stable
set search_path = ''
as $$
  select '20261204090000'::text;
$$;

comment on function public.clerk_sync_schema_version() is
  'The timestamp of the newest clerk-webhook-sync migration applied here; the function and the commands refuse to write to an older schema. Executable by service_role only.';

-- Supabase grants execute on new functions in public to anon and authenticated: take it back.
revoke all on function public.clerk_sync_schema_version() from public, anon, authenticated;
grant execute on function public.clerk_sync_schema_version() to service_role;
