-- The earlier releases' entry points, kept as thin wrappers over public.apply_clerk_events()
-- so that a function deployed before an upgrade keeps applying deliveries until the new
-- one replaces it. Both go in 2.0.0 (CHANGELOG.md), and this file with them. One test per
-- wrapper: what it applies and answers, and who may call it.

begin;
select plan(28);

-- ---------------------------------------------------------------- public.apply_clerk_event()

select is(
  public.apply_clerk_event('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada',
    tests.user_state('ada')),
  'applied',
  'public.apply_clerk_event() applies one delivery and answers its outcome, applied.'
);
select results_eq(
  $$select email, username, sync_format, svix_id from public.users where clerk_id = 'user_ada'$$,
  $$values ('ada@example.com', 'ada', 2::smallint, 'msg_1')$$,
  'It writes the row as public.apply_clerk_events() does.'
);
select is(
  public.apply_clerk_event('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada',
    tests.user_state('ada')),
  'duplicate',
  'Its redelivery answers duplicate.'
);
select is_definer(
  'public', 'apply_clerk_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  'public.apply_clerk_event() is security definer.'
);
select function_privs_are(
  'public', 'apply_clerk_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  r.role, r.privs, r.description
)
from (values
  ('anon', array[]::text[], 'anon cannot execute public.apply_clerk_event().'),
  ('authenticated', array[]::text[], 'authenticated cannot execute public.apply_clerk_event().'),
  ('service_role', array['EXECUTE'], 'service_role can execute public.apply_clerk_event().')
) as r(role, privs, description);
-- A null ACL means the defaults, which let PUBLIC execute a function: read it as such.
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)'::regprocedure
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute public.apply_clerk_event().'
);
select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('anon', $$select public.apply_clerk_event('msg_anon', 'user.deleted', now(), 'user_ada')$$,
    'anon is refused public.apply_clerk_event().'),
  ('user_ada', $$select public.apply_clerk_event('msg_auth', 'user.deleted', now(), 'user_ada')$$,
    'authenticated is refused public.apply_clerk_event().')
) as r(who, statement, description);

-- ---------------------------------------------------------------- public.apply_clerk_user_event()

-- The first release's function sends five fields: the others stay as they are.
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_5', p_event_type => 'user.updated', p_event_at => '2026-01-01 10:07:01+00',
    p_clerk_id => 'user_ada', p_email => 'ada@example.com', p_first_name => 'Augusta',
    p_last_name => 'Lovelace', p_image_url => 'https://img.clerk.com/ada',
    p_clerk_created_at => '2026-01-01 08:00:00+00', p_clerk_updated_at => '2026-01-01 10:07:00+00'
  ),
  'applied',
  'The first release''s entry point still applies.'
);
select results_eq(
  $$select first_name, last_name, username, phone_number, public_metadata, sync_format
    from public.users where clerk_id = 'user_ada'$$,
  $$values ('Augusta', 'Lovelace', 'ada', '+15550000001', '{"role": "admin"}'::jsonb, 2::smallint)$$,
  'It writes its five fields and leaves the others, and the format, as they were.'
);
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_old', p_event_type => 'user.created', p_event_at => '2026-01-01 10:00:01+00',
    p_clerk_id => 'user_old', p_email => 'old@example.com',
    p_clerk_created_at => '2026-01-01 08:00:00+00', p_clerk_updated_at => '2026-01-01 10:00:00+00'
  ),
  'applied',
  'A user created through the first release''s entry point is applied.'
);
select results_eq(
  $$select email, sync_format, public_metadata, banned, email_verified from public.users where clerk_id = 'user_old'$$,
  $$values ('old@example.com', 1::smallint, '{}'::jsonb, false, false)$$,
  'Its row has format 1 and the new columns at their defaults.'
);
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_old_deleted', p_event_type => 'user.deleted',
    p_event_at => '2026-01-01 11:00:00+00', p_clerk_id => 'user_old'
  ),
  'applied',
  'A user.deleted through the first release''s entry point is applied.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_old'$$,
  'It removes the row.'
);
select ok(
  tests.is_canceled($$select public.apply_clerk_user_event(
      p_svix_id => 'msg_late', p_event_type => 'user.created', p_event_at => now(),
      p_clerk_id => 'user_late', p_clerk_created_at => now(), p_clerk_updated_at => now(),
      p_deadline => clock_timestamp() - interval '1 second')$$),
  'A call past the deadline its function gave raises query_canceled.'
);
select is_empty(
  $$select 1 from clerk_sync.deliveries where svix_id = 'msg_late'$$,
  'A call past its deadline records nothing in the ledger.'
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
select function_privs_are(
  'public', 'apply_clerk_user_event',
  array['text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text',
    'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone'],
  r.role, r.privs, r.description
)
from (values
  ('anon', array[]::text[], 'anon cannot execute public.apply_clerk_user_event().'),
  ('authenticated', array[]::text[], 'authenticated cannot execute public.apply_clerk_user_event().'),
  ('service_role', array['EXECUTE'], 'service_role can execute public.apply_clerk_user_event().')
) as r(role, privs, description);
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)'::regprocedure
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute public.apply_clerk_user_event().'
);
select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('anon', $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_anon', p_event_type => 'user.deleted', p_event_at => now(),
      p_clerk_id => 'user_ada')$$,
    'anon is refused public.apply_clerk_user_event().'),
  ('user_ada', $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_auth', p_event_type => 'user.updated', p_event_at => now(),
      p_clerk_id => 'user_ada', p_email => 'mallory@example.com',
      p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
    'authenticated is refused public.apply_clerk_user_event().')
) as r(who, statement, description);
select tests.authenticate_as_service_role();
select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_s', p_event_type => 'user.created', p_event_at => '2026-01-01 11:00:00+00',
    p_clerk_id => 'user_s', p_email => 's@example.com',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'applied',
  'service_role calls public.apply_clerk_user_event() as a deployed function does.'
);
reset role;

select results_eq(
  $$select svix_id, outcome from clerk_sync.deliveries order by svix_id$$,
  $$values ('msg_1', 'applied'), ('msg_5', 'applied'), ('msg_old', 'applied'),
    ('msg_old_deleted', 'applied'), ('msg_s', 'applied')$$,
  'The ledger holds the wrappers'' deliveries, none of the refused or late calls.'
);

select * from finish();
rollback;
