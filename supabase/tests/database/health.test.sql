-- The sync's health: refusals recorded by public.record_clerk_refusal(), backfill runs by
-- public.record_clerk_backfill_run(), and the summary of public.clerk_sync_status().
-- service_role may call the three functions; anon and authenticated may call none of them
-- and read nothing they write.

begin;
select plan(49);

-- ---------------------------------------------------------------- catalog

select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = 'clerk_sync.refusals'::regclass),
  'RLS is enabled on clerk_sync.refusals.'
);
select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = 'clerk_sync.backfill_runs'::regclass),
  'RLS is enabled on clerk_sync.backfill_runs.'
);
select is_empty(
  $$select 1 from pg_catalog.pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
    where c.oid in ('clerk_sync.refusals'::regclass, 'clerk_sync.backfill_runs'::regclass)
      and a.grantee <> c.relowner$$,
  'No role but the owner has a privilege on clerk_sync.refusals or clerk_sync.backfill_runs.'
);

select is_definer('public', 'record_clerk_refusal', array['text', 'text', 'integer', 'text'],
  'public.record_clerk_refusal() is security definer.');
select is_definer('public', 'record_clerk_backfill_run',
  array['timestamp with time zone', 'timestamp with time zone', 'text', 'boolean', 'jsonb', 'text'],
  'public.record_clerk_backfill_run() is security definer.');
select is_definer('public', 'clerk_sync_status', array[]::text[],
  'public.clerk_sync_status() is security definer.');
select is(
  (select count(*)::int from pg_catalog.pg_proc
    where oid in (
      'public.record_clerk_refusal(text, text, integer, text)'::regprocedure,
      'public.record_clerk_backfill_run(timestamptz, timestamptz, text, boolean, jsonb, text)'::regprocedure,
      'public.clerk_sync_status()'::regprocedure
    ) and 'search_path=""' = any(proconfig)),
  3,
  'The three health functions run with an empty search_path.'
);

-- A null ACL means the defaults, which let PUBLIC execute a function: read it as such.
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid in (
      'public.record_clerk_refusal(text, text, integer, text)'::regprocedure,
      'public.record_clerk_backfill_run(timestamptz, timestamptz, text, boolean, jsonb, text)'::regprocedure,
      'public.clerk_sync_status()'::regprocedure
    ) and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'No role but the owner and service_role (PUBLIC included) may execute a health function.'
);
select function_privs_are('public', 'record_clerk_refusal', array['text', 'text', 'integer', 'text'],
  'service_role', array['EXECUTE'], 'service_role can execute public.record_clerk_refusal().');
select function_privs_are('public', 'record_clerk_refusal', array['text', 'text', 'integer', 'text'],
  'anon', array[]::text[], 'anon cannot execute public.record_clerk_refusal().');
select function_privs_are('public', 'record_clerk_refusal', array['text', 'text', 'integer', 'text'],
  'authenticated', array[]::text[], 'authenticated cannot execute public.record_clerk_refusal().');
select function_privs_are('public', 'clerk_sync_status', array[]::text[],
  'service_role', array['EXECUTE'], 'service_role can execute public.clerk_sync_status().');
select function_privs_are('public', 'clerk_sync_status', array[]::text[],
  'anon', array[]::text[], 'anon cannot execute public.clerk_sync_status().');
select function_privs_are('public', 'clerk_sync_status', array[]::text[],
  'authenticated', array[]::text[], 'authenticated cannot execute public.clerk_sync_status().');

-- ---------------------------------------------------------------- as service_role

select tests.authenticate_as_service_role();

select lives_ok(
  $$select public.record_clerk_refusal('msg_r1', 'user.created', 422, 'data.id: required')$$,
  'service_role records a refusal.'
);
select lives_ok(
  $$select public.record_clerk_refusal('msg_r1', null, 500, 'CLERK_WEBHOOK_SECRET: missing')$$,
  'service_role records a second attempt of the same message.'
);
select throws_ok(
  $$select public.record_clerk_refusal(null, 'user.created', 422, 'no id')$$,
  '22004', null,
  'A refusal without a svix-id is refused.'
);
select throws_ok(
  $$select public.record_clerk_refusal('msg_r2', 'user.created', 200, 'not a refusal')$$,
  '23514', null,
  'A 2xx is not a refusal.'
);
select lives_ok(
  $$select public.record_clerk_backfill_run(now() - interval '5 minutes', now(), 'reconcile', true,
      '{"users": {"fetched": 3, "applied": 1, "stale": 0, "duplicate": 2, "deleted": 1, "invalid": 0}}')$$,
  'service_role records a backfill run.'
);
select throws_ok(
  $$select public.record_clerk_backfill_run(now(), now(), 'dry-run', true, '{}')$$,
  '23514', null,
  'A dry run is not recorded: the mode is backfill or reconcile.'
);
select throws_ok(
  $$select public.record_clerk_backfill_run(now(), now() - interval '1 second', 'backfill', true, '{}')$$,
  '23514', null,
  'A run cannot finish before it started.'
);
select throws_ok(
  $$select * from clerk_sync.refusals$$,
  '42501', null,
  'service_role reads refusals through public.clerk_sync_status() only, not the table.'
);

reset role;

select results_eq(
  $$select event_type, status, reason, attempts, first_at = now(), last_at = now()
    from clerk_sync.refusals$$,
  $$values ('user.created'::text, 500, 'CLERK_WEBHOOK_SECRET: missing'::text, 2, true, true)$$,
  'A second attempt counts, takes the latest status and reason, and keeps the known event type.'
);
select lives_ok(
  $$select public.record_clerk_refusal('msg_long', 'user.updated', 422, repeat('x', 5000))$$,
  'A long reason is accepted…'
);
select is(
  (select length(reason) from clerk_sync.refusals where svix_id = 'msg_long'), 1000,
  '… and kept to 1000 characters.'
);

-- Deliveries: two webhook deliveries now, one two hours ago, and a backfill's.
select is(tests.deliver(d.svix_id, d.type, now(), d.object_id, d.state), d.outcome, d.description)
from (values
  ('msg_a', 'user.created', 'user_a', tests.user_state('a'), 'applied',
    'Seed: a webhook delivery creates user_a.'),
  ('msg_s', 'session.created', null, null, 'ignored',
    'Seed: a webhook delivery of another type is ignored.'),
  ('backfill:user_b:1', 'user.updated', 'user_b', tests.user_state('b'), 'applied',
    'Seed: the backfill creates user_b.')
) as d(svix_id, type, object_id, state, outcome, description);
insert into clerk_sync.deliveries (svix_id, event_type, clerk_id, event_at, outcome, received_at)
values ('msg_old', 'user.updated', 'user_a', now() - interval '2 hours', 'stale', now() - interval '2 hours'),
  ('msg_ancient', 'user.created', 'user_z', now() - interval '3 days', 'applied', now() - interval '3 days');
update clerk_sync.refusals set last_at = now() - interval '3 hours' where svix_id = 'msg_long';

select tests.authenticate_as_service_role();
create temporary table status on commit drop as select public.clerk_sync_status() as s;
reset role;

select is((select s -> 'users' from status), '2'::jsonb, 'The status counts the live users.');
select is(
  (select s -> 'deliveries' -> 'last_hour' from status),
  '{"applied": 1, "stale": 0, "ignored": 1, "refused": 1}'::jsonb,
  'The last hour: webhook deliveries by outcome (not the backfill''s) and refusals.'
);
select is(
  (select s -> 'deliveries' -> 'last_day' from status),
  '{"applied": 1, "stale": 1, "ignored": 1, "refused": 2}'::jsonb,
  'The last day adds the delivery and the refusal of a few hours ago, not older ones.'
);
select is(
  (select (s ->> 'last_delivery_at')::timestamptz from status), now(),
  'The last webhook delivery is the latest one received.'
);
select is(
  (select array_agg(k order by k) from status, jsonb_object_keys(s -> 'last_by_type') k),
  array['session.created', 'user.created', 'user.updated'],
  'The last delivery of each event type is listed.'
);
select is(
  (select (s -> 'last_by_type' -> 'user.updated' ->> 'received_at')::timestamptz from status),
  now() - interval '2 hours',
  'The backfill''s own delivery does not count as the last webhook delivery of a type.'
);
select is(
  (select (s -> 'refusals' ->> 'total')::int from status), 2,
  'Every recorded refusal is counted.'
);
select is(
  (select jsonb_path_query_array(s -> 'refusals' -> 'recent', '$[*].svix_id') from status),
  '["msg_r1", "msg_long"]'::jsonb,
  'Recent refusals come newest first.'
);
select is(
  (select s -> 'refusals' -> 'recent' -> 0 -> 'attempts' from status), '2'::jsonb,
  'A refusal shows its attempts.'
);
select is(
  (select (s -> 'last_run') - 'id' - 'started_at' - 'finished_at' from status),
  '{"mode": "reconcile", "ok": true, "error": null, "counts": {"users": {"fetched": 3, "applied": 1, "stale": 0, "duplicate": 2, "deleted": 1, "invalid": 0}}}'::jsonb,
  'The last backfill run and what it changed.'
);
select is(
  (select s -> 'ledger' from status),
  jsonb_build_object('entries', 5, 'oldest_at', now() - interval '3 days'),
  'The ledger''s size and oldest entry, the backfill''s entries included.'
);

select is(clerk_sync.prune_refusals(interval '2 hours'), 1::bigint,
  'prune_refusals() deletes the refusals last attempted before the window…');
select is(
  (select array_agg(svix_id) from clerk_sync.refusals), array['msg_r1'],
  '… and keeps the others.'
);
select is_empty(
  $$select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.oid = 'clerk_sync.prune_refusals(interval)'::regprocedure and a.grantee <> p.proowner$$,
  'No role but the owner (PUBLIC included) may execute clerk_sync.prune_refusals().'
);

-- ---------------------------------------------------------------- anon and authenticated

select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('anon', $$select public.clerk_sync_status()$$, 'anon cannot read the status.'),
  ('anon', $$select public.record_clerk_refusal('msg_anon', 'user.created', 422, 'x')$$,
    'anon cannot record a refusal.'),
  ('anon', $$select public.record_clerk_backfill_run(now(), now(), 'backfill', true, '{}')$$,
    'anon cannot record a backfill run.'),
  ('user_a', $$select public.clerk_sync_status()$$, 'authenticated cannot read the status.'),
  ('user_a', $$select public.record_clerk_refusal('msg_auth', 'user.created', 422, 'x')$$,
    'authenticated cannot record a refusal.'),
  ('user_a', $$select public.record_clerk_backfill_run(now(), now(), 'backfill', true, '{}')$$,
    'authenticated cannot record a backfill run.'),
  ('user_a', $$select * from clerk_sync.refusals$$, 'authenticated cannot read the refusals.')
) as r(who, statement, description);

select * from finish();
rollback;
