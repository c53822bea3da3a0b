-- Who may do what: RLS, grants and the entry point's definer settings, checked in the
-- catalog and by acting as each Data API role the way PostgREST does (role and
-- request.jwt.claims, through the tests.* helpers). anon may do nothing; authenticated
-- may read its own row of public.users; service_role may read public.users and call
-- public.apply_clerk_events(), the only writer. Nobody but the owner touches clerk_sync.
-- The earlier entry points' grants are in compatibility.test.sql.

begin;
select plan(74);

-- Seed as the owner, through the writer.
select is(tests.deliver(d.svix_id, d.type, '2026-01-01 10:00:00+00', d.clerk_id, d.state), 'applied',
  d.description)
from (values
  ('msg_x', 'user.created', 'user_x', tests.user_state('x', '2026-01-01 10:00:00+00'),
    'Seed: the owner creates user_x through the entry point.'),
  ('msg_y', 'user.created', 'user_y', tests.user_state('y', '2026-01-01 10:00:00+00'),
    'Seed: the owner creates user_y through the entry point.'),
  ('msg_z', 'user.deleted', 'user_z', null,
    'Seed: the owner deletes user_z through the entry point, leaving a tombstone.')
) as d(svix_id, type, clerk_id, state, description);

-- ---------------------------------------------------------------- catalog: RLS and policies

select ok(
  (select bool_and(relrowsecurity) from pg_catalog.pg_class where oid = t.name::regclass),
  format('RLS is enabled on %s.', t.name)
)
from (values
  ('public.users'), ('public.users_private'), ('clerk_sync.deliveries'), ('clerk_sync.tombstones'),
  ('clerk_sync.delete_modes'), ('clerk_sync.cascades')
) as t(name);

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
select is_empty(
  $$select 1 from pg_catalog.pg_policies where schemaname = 'clerk_sync'$$,
  'The clerk_sync tables have no policy, so RLS lets nobody but the owner through.'
);

-- ---------------------------------------------------------------- catalog: functions

select is_definer(
  'public', 'apply_clerk_events', array['jsonb', 'timestamp with time zone'],
  'public.apply_clerk_events() is security definer.'
);
select is_empty(
  $$select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'clerk_sync'::regnamespace, 'clerk'::regnamespace)
      and not coalesce('search_path=""' = any(p.proconfig), false)$$,
  'Every function of public, clerk_sync and clerk runs with an empty search_path.'
);
select ok(
  (select 'search_path=""' = any(proconfig) from pg_catalog.pg_proc where oid = f.name::regprocedure),
  format('%s runs with an empty search_path.', f.name)
)
from (values
  ('public.apply_clerk_events(jsonb, timestamptz)'), ('clerk_sync.prune_deliveries(interval)'),
  ('clerk_sync.touch_updated_at()')
) as f(name);

select function_privs_are(
  'public', 'apply_clerk_events', array['jsonb', 'timestamp with time zone'], r.role, r.privs,
  r.description
)
from (values
  ('anon', array[]::text[], 'anon cannot execute public.apply_clerk_events().'),
  ('authenticated', array[]::text[], 'authenticated cannot execute public.apply_clerk_events().'),
  ('service_role', array['EXECUTE'], 'service_role can execute public.apply_clerk_events().')
) as r(role, privs, description);
-- A null ACL means the defaults, which let PUBLIC execute a function: read it as such.
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'public.apply_clerk_events(jsonb, timestamptz)'::regprocedure
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute public.apply_clerk_events().'
);
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.pronamespace = 'clerk_sync'::regnamespace and a.grantee <> p.proowner$$,
  'No role but the owner (PUBLIC included) may execute a function of clerk_sync.'
);

-- ---------------------------------------------------------------- catalog: tables and schemas

select table_privs_are('public', t.name, t.role, t.privs, t.description)
from (values
  ('users', 'anon', array[]::text[], 'anon has no privilege on public.users.'),
  ('users', 'authenticated', array['SELECT'], 'authenticated may only select public.users.'),
  ('users', 'service_role', array['SELECT'], 'service_role may only select public.users.'),
  ('users_private', 'anon', array[]::text[], 'anon has no privilege on public.users_private.'),
  ('users_private', 'authenticated', array[]::text[],
    'authenticated has no privilege on public.users_private, not even for its own row.'),
  ('users_private', 'service_role', array['SELECT'], 'service_role may only select public.users_private.')
) as t(name, role, privs, description);

select schema_privs_are('clerk_sync', r.role, array[]::text[],
  format('%s has no privilege on schema clerk_sync.', r.role))
from (values ('anon'), ('authenticated'), ('service_role')) as r(role);
select is_empty(
  $$select 1 from pg_catalog.pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where c.relnamespace = 'clerk_sync'::regnamespace and a.grantee <> c.relowner$$,
  'No role but the owner has a privilege on a table of clerk_sync.'
);

-- ---------------------------------------------------------------- what each role is refused

-- Who (anon, a signed-in Clerk user, the app's server), what, and why each is refused:
-- all for want of a privilege (42501).
select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('anon', $$select * from public.users$$,
    'anon cannot select public.users: it has no select grant.'),
  ('anon', $$select public.apply_clerk_events('[{"svix_id": "msg_anon", "type": "user.deleted",
      "event_at": "2026-01-01T12:00:00Z", "object_id": "user_x"}]')$$,
    'anon cannot execute public.apply_clerk_events().'),
  ('anon', $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
      values ('user_anon', now(), now(), now(), 'msg_anon')$$,
    'anon cannot insert into public.users.'),
  ('anon', $$update public.users set first_name = 'Mallory'$$,
    'anon cannot update public.users.'),
  ('anon', $$delete from public.users$$,
    'anon cannot delete from public.users.'),
  ('anon', $$select * from public.users_private$$,
    'anon cannot select public.users_private.'),
  ('anon', $$select * from clerk_sync.deliveries$$,
    'anon cannot select clerk_sync.deliveries.'),
  ('anon', $$select * from clerk_sync.tombstones$$,
    'anon cannot select clerk_sync.tombstones.'),

  ('user_x', $$select public.apply_clerk_events('[{"svix_id": "msg_auth", "type": "user.updated",
      "event_at": "2026-01-01T12:00:00Z", "object_id": "user_x", "state": {"email": "mallory@example.com",
      "clerk_created_at": "2026-01-01T08:00:00Z", "clerk_updated_at": "2026-01-01T12:00:00Z"}}]')$$,
    'authenticated cannot execute public.apply_clerk_events().'),
  ('user_x', $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
      values ('user_auth', now(), now(), now(), 'msg_auth')$$,
    'authenticated cannot insert into public.users.'),
  ('user_x', $$update public.users set email = 'mallory@example.com' where clerk_id = 'user_x'$$,
    'authenticated cannot update its own row.'),
  ('user_x', $$delete from public.users where clerk_id = 'user_x'$$,
    'authenticated cannot delete its own row.'),
  ('user_x', $$truncate public.users$$,
    'authenticated cannot truncate public.users.'),
  ('user_x', $$select * from public.users_private where clerk_id = 'user_x'$$,
    'authenticated cannot select public.users_private, not even its own row.'),
  ('user_x', $$select * from clerk_sync.deliveries$$,
    'authenticated cannot select clerk_sync.deliveries.'),
  ('user_x', $$insert into clerk_sync.deliveries (svix_id, event_type, event_at) values ('msg_auth', 'user.updated', now())$$,
    'authenticated cannot insert into clerk_sync.deliveries (a forged svix-id would block a real delivery).'),
  ('user_x', $$select * from clerk_sync.tombstones$$,
    'authenticated cannot select clerk_sync.tombstones.'),
  ('user_x', $$insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id) values ('user', 'user_y', now(), 'msg_auth')$$,
    'authenticated cannot insert into clerk_sync.tombstones (a forged tombstone would freeze a user).'),
  ('user_x', $$select clerk_sync.prune_deliveries('0 seconds')$$,
    'authenticated cannot execute clerk_sync.prune_deliveries().'),

  ('service_role', $$insert into public.users (clerk_id, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
      values ('user_service', now(), now(), now(), 'msg_service')$$,
    'service_role cannot insert into public.users directly.'),
  ('service_role', $$update public.users set email = null where clerk_id = 'user_x'$$,
    'service_role cannot update public.users directly.'),
  ('service_role', $$delete from public.users where clerk_id = 'user_x'$$,
    'service_role cannot delete from public.users directly.'),
  ('service_role', $$truncate public.users$$,
    'service_role cannot truncate public.users.'),
  ('service_role', $$select * from clerk_sync.deliveries$$,
    'service_role cannot select clerk_sync.deliveries.'),
  ('service_role', $$insert into clerk_sync.deliveries (svix_id, event_type, event_at) values ('msg_service', 'user.updated', now())$$,
    'service_role cannot insert into clerk_sync.deliveries.'),
  ('service_role', $$select * from clerk_sync.tombstones$$,
    'service_role cannot select clerk_sync.tombstones.'),
  ('service_role', $$delete from clerk_sync.tombstones$$,
    'service_role cannot delete tombstones.'),
  ('service_role', $$select clerk_sync.prune_deliveries('0 seconds')$$,
    'service_role cannot execute clerk_sync.prune_deliveries().')
) as r(who, statement, description);

-- ---------------------------------------------------------------- what each role may do

select tests.authenticate_as('user_x');
select results_eq(
  $$select clerk_id, email from public.users$$,
  $$values ('user_x', 'x@example.com')$$,
  'authenticated sees exactly its own row: the one whose clerk_id is its sub.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_y'$$,
  'authenticated does not see the row of another user, even asking for it by clerk_id.'
);
select tests.authenticate_as('user_y');
select results_eq(
  $$select clerk_id from public.users$$,
  $$values ('user_y')$$,
  'With another sub, authenticated sees that user''s row instead.'
);
select tests.authenticate_as('user_nobody');
select is_empty(
  $$select 1 from public.users$$,
  'authenticated whose sub has no row sees no row.'
);
select set_config('request.jwt.claims', '', true);
select is_empty(
  $$select 1 from public.users$$,
  'authenticated without JWT claims sees no row.'
);

select tests.authenticate_as_service_role();
select is(
  public.apply_clerk_events(jsonb_build_array(
    tests.delivery('msg_s', 'user.created', '2026-01-01 11:00:00+00', 'user_s',
      tests.user_state('s', '2026-01-01 11:00:00+00'))
  )),
  array['applied'],
  'service_role can execute public.apply_clerk_events().'
);
select results_eq(
  $$select clerk_id from public.users order by clerk_id$$,
  $$values ('user_s'), ('user_x'), ('user_y')$$,
  'service_role sees every row of public.users, including the one it just wrote.'
);
select results_eq(
  $$select clerk_id from public.users_private order by clerk_id$$,
  $$values ('user_s'), ('user_x'), ('user_y')$$,
  'service_role reads every user''s private metadata.'
);
reset role;

-- ---------------------------------------------------------------- what the roles left

select results_eq(
  $$select clerk_id, email, first_name from public.users order by clerk_id$$,
  $$values ('user_s', 's@example.com', 'S'), ('user_x', 'x@example.com', 'X'),
    ('user_y', 'y@example.com', 'Y')$$,
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
