-- public.apply_clerk_events(): a batch applies as its deliveries would one after the
-- other, answers each outcome in order, commits all or nothing, and only service_role
-- may call it.

begin;
select plan(14);

create function pg_temp.delivery(
  p_svix_id text, p_type text, p_object_id text, p_updated_at text, p_extra jsonb default '{}'
) returns jsonb
language sql as $$
  select jsonb_build_object(
    'svix_id', p_svix_id, 'type', p_type, 'event_at', p_updated_at, 'object_id', p_object_id,
    'state', case when p_type like '%.deleted' then null else jsonb_build_object(
      'clerk_created_at', '2026-01-01 08:00:00+00', 'clerk_updated_at', p_updated_at,
      'sync_format', 2
    ) || p_extra end
  );
$$;

select is(
  public.apply_clerk_events(jsonb_build_array(
    pg_temp.delivery('msg_b1', 'user.created', 'user_ann', '2026-01-01 10:00:00+00', '{"email": "ann@example.com"}'),
    pg_temp.delivery('msg_b2', 'user.updated', 'user_ann', '2026-01-01 11:00:00+00', '{"email": "ann@example.com", "first_name": "Ann"}'),
    pg_temp.delivery('msg_b1', 'user.created', 'user_ann', '2026-01-01 10:00:00+00', '{"email": "ann@example.com"}'),
    pg_temp.delivery('msg_b3', 'user.updated', 'user_ann', '2026-01-01 09:00:00+00', '{"first_name": "Old"}'),
    pg_temp.delivery('msg_b4', 'user.created', 'user_bob', '2026-01-01 12:00:00+00', '{"email": "ANN@example.com"}'),
    jsonb_build_object('svix_id', 'msg_b5', 'type', 'session.created', 'event_at', '2026-01-01 12:00:00+00')
  )),
  array['applied', 'applied', 'duplicate', 'stale', 'applied', 'ignored'],
  'Each delivery of a batch gets its own outcome, in order; one twice in a batch is a duplicate.'
);
select results_eq(
  $$select clerk_id, email, first_name from public.users where clerk_id in ('user_ann', 'user_bob') order by 1$$,
  $$values ('user_ann', null::text, 'Ann'), ('user_bob', 'ANN@example.com', null::text)$$,
  'Later deliveries of a batch see the earlier ones: the newer state took the email.'
);
select results_eq(
  $$select svix_id, outcome from clerk_sync.deliveries where svix_id like 'msg_b%' order by 1$$,
  $$values ('msg_b1', 'applied'), ('msg_b2', 'applied'), ('msg_b3', 'stale'), ('msg_b4', 'applied'),
      ('msg_b5', 'ignored')$$,
  'The ledger records each delivery once, with its outcome.'
);
select is(
  public.apply_clerk_events(jsonb_build_array(
    pg_temp.delivery('msg_b2', 'user.updated', 'user_ann', '2026-01-01 11:00:00+00')
  )),
  array['duplicate'],
  'A delivery recorded by an earlier batch is a duplicate.'
);
select is(public.apply_clerk_events('[]'), '{}'::text[], 'An empty batch does nothing.');

-- ---------------------------------------------------------------- all or nothing

select throws_ok(
  $$select public.apply_clerk_events(jsonb_build_array(
    pg_temp.delivery('msg_c1', 'user.created', 'user_cy', '2026-01-01 10:00:00+00'),
    pg_temp.delivery('msg_c2', 'user.created', null, '2026-01-01 10:00:00+00')
  ))$$,
  '22004', 'user.created needs p_object_id',
  'A batch with a delivery the function refuses fails as a whole.'
);
select is(
  (select count(*)::int from clerk_sync.deliveries where svix_id in ('msg_c1', 'msg_c2')),
  0,
  'A failed batch records none of its deliveries.'
);
select is(
  (select count(*)::int from public.users where clerk_id = 'user_cy'),
  0,
  'A failed batch writes none of its rows.'
);

-- ---------------------------------------------------------------- arguments

select throws_ok(
  $$select public.apply_clerk_events('{"svix_id": "msg_d1"}')$$,
  '22023', 'p_events must be a JSON array of deliveries',
  'A batch that is not an array is refused.'
);
select throws_ok(
  $$select public.apply_clerk_events('[{"svix_id": "msg_d1", "type": "user.created"}]')$$,
  '22004', 'Every delivery needs svix_id, type and event_at',
  'A delivery without its envelope is refused.'
);
select throws_ok(
  $$select public.apply_clerk_events((select jsonb_agg(pg_temp.delivery('msg_e' || i, 'user.deleted', 'user_e' || i, '2026-01-01 10:00:00+00')) from generate_series(1, 1001) i))$$,
  '54000', 'A batch holds at most 1000 deliveries: got 1001',
  'A batch over 1000 deliveries is refused.'
);

-- ---------------------------------------------------------------- privileges

select ok(
  not has_function_privilege('anon', 'public.apply_clerk_events(jsonb, timestamptz)', 'execute'),
  'anon cannot execute public.apply_clerk_events().'
);
select ok(
  not has_function_privilege('authenticated', 'public.apply_clerk_events(jsonb, timestamptz)', 'execute'),
  'authenticated cannot execute public.apply_clerk_events().'
);
select ok(
  has_function_privilege('service_role', 'public.apply_clerk_events(jsonb, timestamptz)', 'execute'),
  'service_role can execute public.apply_clerk_events().'
);

select * from finish();
rollback;
