-- Who may do what: RLS, grants and the apply function's definer settings, checked in the
-- catalog and by acting as each Data API role the way PostgREST does (set local role,
-- request.jwt.claims). anon may do nothing; authenticated may read its own row of
-- public.users; service_role may read public.users and call the apply function, which
-- is the only writer. Nobody but the owner touches clerk_sync.

begin;
select plan(73);

-- Seed as the owner, through the writer.
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_x', p_event_type => 'user.created', p_event_at => '2026-01-01 10:00:00+00',
    p_clerk_id => 'user_x', p_email => 'x@example.com',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:00:00+00'
  ),
  'applied',
  'Seed: the owner creates user_x through the apply function.'
);
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_y', p_event_type => 'user.created', p_event_at => '2026-01-01 10:00:00+00',
    p_clerk_id => 'user_y', p_email => 'y@example.com',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:00:00+00'
  ),
  'applied',
  'Seed: the owner creates user_y through the apply function.'
);
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_z', p_event_type => 'user.deleted', p_event_at => '2026-01-01 10:00:00+00',
    p_clerk_id => 'user_z'
  ),
  'applied',
  'Seed: the owner deletes user_z through the apply function, leaving a tombstone.'
);

-- ---------------------------------------------------------------- catalog

select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = 'public.users'::regclass),
  'RLS is enabled on public.users.'
);
select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = 'clerk_sync.deliveries'::regclass),
  'RLS is enabled on clerk_sync.deliveries.'
);
select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = 'clerk_sync.tombstones'::regclass),
  'RLS is enabled on clerk_sync.tombstones.'
);

select policies_are(
  'public', 'users', array['users read their own row'],
  'public.users has exactly one policy.'
);
select policy_cmd_is(
  'public', 'users', 'users read their own row', 'select',
  'The policy on public.users is for select only.'
);
select policy_roles_are(
  'public', 'users', 'users read their own row', array['authenticated'],
  'The policy on public.users applies to authenticated only.'
);
select is_empty(
  $$select 1 from pg_catalog.pg_policies where schemaname = 'clerk_sync'$$,
  'The clerk_sync tables have no policy, so RLS lets nobody but the owner through.'
);

select is_definer(
  'public', 'apply_clerk_user_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text',
    'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone'],
  'public.apply_clerk_user_event() is security definer.'
);
select ok(
  (select 'search_path=""' = any(proconfig) from pg_catalog.pg_proc
    where oid = 'public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)'::regprocedure),
  'public.apply_clerk_user_event() runs with an empty search_path.'
);
select ok(
  (select 'search_path=""' = any(proconfig) from pg_catalog.pg_proc
    where oid = 'clerk_sync.prune_deliveries(interval)'::regprocedure),
  'clerk_sync.prune_deliveries() runs with an empty search_path.'
);
select ok(
  (select 'search_path=""' = any(proconfig) from pg_catalog.pg_proc
    where oid = 'clerk_sync.touch_updated_at()'::regprocedure),
  'clerk_sync.touch_updated_at() runs with an empty search_path.'
);

select function_privs_are(
  'public', 'apply_clerk_user_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text',
    'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone'],
  'anon', array[]::text[],
  'anon cannot execute public.apply_clerk_user_event().'
);
select function_privs_are(
  'public', 'apply_clerk_user_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text',
    'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone'],
  'authenticated', array[]::text[],
  'authenticated cannot execute public.apply_clerk_user_event().'
);
select function_privs_are(
  'public', 'apply_clerk_user_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text',
    'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone'],
  'service_role', array['EXECUTE'],
  'service_role can execute public.apply_clerk_user_event().'
);
-- A null ACL means the defaults, which let PUBLIC execute a function: read it as such.
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)'::regprocedure
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute public.apply_clerk_user_event().'
);
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.pronamespace = 'clerk_sync'::regnamespace and a.grantee <> p.proowner$$,
  'No role but the owner (PUBLIC included) may execute a function of clerk_sync.'
);

select table_privs_are('public', 'users', 'anon', array[]::text[],
  'anon has no privilege on public.users.');
select table_privs_are('public', 'users', 'authenticated', array['SELECT'],
  'authenticated may only select public.users.');
select table_privs_are('public', 'users', 'service_role', array['SELECT'],
  'service_role may only select public.users.');

select schema_privs_are('clerk_sync', 'anon', array[]::text[],
  'anon has no privilege on schema clerk_sync.');
select schema_privs_are('clerk_sync', 'authenticated', array[]::text[],
  'authenticated has no privilege on schema clerk_sync.');
select schema_privs_are('clerk_sync', 'service_role', array[]::text[],
  'service_role has no privilege on schema clerk_sync.');
select is_empty(
  $$select 1 from pg_catalog.pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where c.relnamespace = 'clerk_sync'::regnamespace and a.grantee <> c.relowner$$,
  'No role but the owner has a privilege on a table of clerk_sync.'
);

-- ---------------------------------------------------------------- the sync core

select is_definer(
  'public', 'apply_clerk_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  'public.apply_clerk_event() is security definer.'
);
select is_empty(
  $$select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'clerk_sync'::regnamespace, 'clerk'::regnamespace)
      and not coalesce('search_path=""' = any(p.proconfig), false)$$,
  'Every function of public, clerk_sync and clerk runs with an empty search_path.'
);
select function_privs_are(
  'public', 'apply_clerk_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  'anon', array[]::text[],
  'anon cannot execute public.apply_clerk_event().'
);
select function_privs_are(
  'public', 'apply_clerk_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  'authenticated', array[]::text[],
  'authenticated cannot execute public.apply_clerk_event().'
);
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)'::regprocedure
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute public.apply_clerk_event().'
);
select ok(
  (select bool_and(relrowsecurity) from pg_catalog.pg_class
    where oid in ('public.users_private'::regclass, 'clerk_sync.tombstones'::regclass,
      'clerk_sync.delete_modes'::regclass)),
  'RLS is enabled on public.users_private, clerk_sync.tombstones and clerk_sync.delete_modes.'
);
select matches(
  (select qual from pg_catalog.pg_policies
    where schemaname = 'public' and policyname = 'users read their own row'),
  '^\(\(\( SELECT auth\.jwt\(\) AS jwt\) ->> ',
  'The policy evaluates auth.jwt() once per statement, wrapped in select as Supabase''s linter (auth_rls_initplan) asks.'
);
select is_empty(
  $$select 1 from pg_catalog.pg_policies where schemaname = 'public' and tablename = 'users_private'$$,
  'public.users_private has no policy: RLS lets no anon or authenticated row through.'
);
select table_privs_are('public', 'users_private', 'anon', array[]::text[],
  'anon has no privilege on public.users_private.');
select table_privs_are('public', 'users_private', 'authenticated', array[]::text[],
  'authenticated has no privilege on public.users_private, not even for its own row.');
select table_privs_are('public', 'users_private', 'service_role', array['SELECT'],
  'service_role may only select public.users_private.');

-- ---------------------------------------------------------------- anon

set local role anon;

select throws_ok(
  $$select * from public.users$$,
  '42501', null,
  'anon cannot select public.users: it has no select grant.'
);
select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_anon', p_event_type => 'user.deleted', p_event_at => now(),
      p_clerk_id => 'user_x')$$,
  '42501', null,
  'anon cannot execute public.apply_clerk_user_event().'
);
select throws_ok(
  $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('user_anon', now(), now(), now(), 'msg_anon')$$,
  '42501', null,
  'anon cannot insert into public.users.'
);
select throws_ok(
  $$update public.users set first_name = 'Mallory'$$,
  '42501', null,
  'anon cannot update public.users.'
);
select throws_ok(
  $$delete from public.users$$,
  '42501', null,
  'anon cannot delete from public.users.'
);
select throws_ok(
  $$select * from clerk_sync.deliveries$$,
  '42501', null,
  'anon cannot select clerk_sync.deliveries.'
);
select throws_ok(
  $$select * from clerk_sync.tombstones$$,
  '42501', null,
  'anon cannot select clerk_sync.tombstones.'
);

reset role;

-- ---------------------------------------------------------------- authenticated

select set_config('request.jwt.claims', '{"sub":"user_x","role":"authenticated"}', true);
set local role authenticated;

select results_eq(
  $$select clerk_id, email from public.users$$,
  $$values ('user_x', 'x@example.com')$$,
  'authenticated sees exactly its own row: the one whose clerk_id is its sub.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_y'$$,
  'authenticated does not see the row of another user, even asking for it by clerk_id.'
);
select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_auth', p_event_type => 'user.updated', p_event_at => now(),
      p_clerk_id => 'user_x', p_email => 'mallory@example.com',
      p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
  '42501', null,
  'authenticated cannot execute public.apply_clerk_user_event().'
);
select throws_ok(
  $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('user_auth', now(), now(), now(), 'msg_auth')$$,
  '42501', null,
  'authenticated cannot insert into public.users.'
);
select throws_ok(
  $$update public.users set email = 'mallory@example.com' where clerk_id = 'user_x'$$,
  '42501', null,
  'authenticated cannot update its own row.'
);
select throws_ok(
  $$delete from public.users where clerk_id = 'user_x'$$,
  '42501', null,
  'authenticated cannot delete its own row.'
);
select throws_ok(
  $$truncate public.users$$,
  '42501', null,
  'authenticated cannot truncate public.users.'
);
select throws_ok(
  $$select * from clerk_sync.deliveries$$,
  '42501', null,
  'authenticated cannot select clerk_sync.deliveries.'
);
select throws_ok(
  $$insert into clerk_sync.deliveries (svix_id, event_type, event_at) values ('msg_auth', 'user.updated', now())$$,
  '42501', null,
  'authenticated cannot insert into clerk_sync.deliveries (a forged svix-id would block a real delivery).'
);
select throws_ok(
  $$select * from clerk_sync.tombstones$$,
  '42501', null,
  'authenticated cannot select clerk_sync.tombstones.'
);
select throws_ok(
  $$insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id) values ('user', 'user_y', now(), 'msg_auth')$$,
  '42501', null,
  'authenticated cannot insert into clerk_sync.tombstones (a forged tombstone would freeze a user).'
);
select throws_ok(
  $$select clerk_sync.prune_deliveries('0 seconds')$$,
  '42501', null,
  'authenticated cannot execute clerk_sync.prune_deliveries().'
);

select set_config('request.jwt.claims', '{"sub":"user_y","role":"authenticated"}', true);
select results_eq(
  $$select clerk_id from public.users$$,
  $$values ('user_y')$$,
  'With another sub, authenticated sees that user''s row instead.'
);

select set_config('request.jwt.claims', '{"sub":"user_nobody","role":"authenticated"}', true);
select is_empty(
  $$select 1 from public.users$$,
  'authenticated whose sub has no row sees no row.'
);

select set_config('request.jwt.claims', '', true);
select is_empty(
  $$select 1 from public.users$$,
  'authenticated without JWT claims sees no row.'
);

reset role;

-- ---------------------------------------------------------------- service_role

set local role service_role;

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_s', p_event_type => 'user.created', p_event_at => '2026-01-01 11:00:00+00',
    p_clerk_id => 'user_s', p_email => 's@example.com',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'applied',
  'service_role can execute public.apply_clerk_user_event().'
);
select results_eq(
  $$select clerk_id from public.users order by clerk_id$$,
  $$values ('user_s'), ('user_x'), ('user_y')$$,
  'service_role sees every row of public.users, including the one it just wrote.'
);
select throws_ok(
  $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('user_service', now(), now(), now(), 'msg_service')$$,
  '42501', null,
  'service_role cannot insert into public.users directly.'
);
select throws_ok(
  $$update public.users set email = null where clerk_id = 'user_x'$$,
  '42501', null,
  'service_role cannot update public.users directly.'
);
select throws_ok(
  $$delete from public.users where clerk_id = 'user_x'$$,
  '42501', null,
  'service_role cannot delete from public.users directly.'
);
select throws_ok(
  $$truncate public.users$$,
  '42501', null,
  'service_role cannot truncate public.users.'
);
select throws_ok(
  $$select * from clerk_sync.deliveries$$,
  '42501', null,
  'service_role cannot select clerk_sync.deliveries.'
);
select throws_ok(
  $$insert into clerk_sync.deliveries (svix_id, event_type, event_at) values ('msg_service', 'user.updated', now())$$,
  '42501', null,
  'service_role cannot insert into clerk_sync.deliveries.'
);
select throws_ok(
  $$select * from clerk_sync.tombstones$$,
  '42501', null,
  'service_role cannot select clerk_sync.tombstones.'
);
select throws_ok(
  $$delete from clerk_sync.tombstones$$,
  '42501', null,
  'service_role cannot delete tombstones.'
);
select throws_ok(
  $$select clerk_sync.prune_deliveries('0 seconds')$$,
  '42501', null,
  'service_role cannot execute clerk_sync.prune_deliveries().'
);

reset role;

-- ---------------------------------------------------------------- what the roles left

select results_eq(
  $$select clerk_id, email, first_name from public.users order by clerk_id$$,
  $$values ('user_s', 's@example.com', null::text), ('user_x', 'x@example.com', null::text),
    ('user_y', 'y@example.com', null::text)$$,
  'After every attempt, public.users holds the seeded rows and the one written through the function.'
);
select results_eq(
  $$select svix_id, outcome from clerk_sync.deliveries order by svix_id$$,
  $$values ('msg_s', 'applied'), ('msg_x', 'applied'), ('msg_y', 'applied'), ('msg_z', 'applied')$$,
  'After every attempt, the ledger holds the seeded deliveries and the service_role call only.'
);
select results_eq(
  $$select clerk_id from clerk_sync.tombstones$$,
  $$values ('user_z')$$,
  'After every attempt, the tombstones are the seeded one only.'
);

select * from finish();
rollback;
