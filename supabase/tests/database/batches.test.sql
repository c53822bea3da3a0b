-- A batch of public.apply_clerk_events() applies as its deliveries would one after the
-- other, answers each outcome in order, and commits all or nothing. Its arguments are in
-- arguments.test.sql, who may call it in security.test.sql.

begin;
select plan(8);

select is(
  public.apply_clerk_events(jsonb_build_array(
    tests.delivery('msg_b1', 'user.created', '2026-01-01 10:00:00+00', 'user_ann',
      tests.user_state('ann', '2026-01-01 10:00:00+00')),
    tests.delivery('msg_b2', 'user.updated', '2026-01-01 11:00:00+00', 'user_ann',
      tests.user_state('ann', '2026-01-01 11:00:00+00', '{"first_name": "Annie"}')),
    tests.delivery('msg_b1', 'user.created', '2026-01-01 10:00:00+00', 'user_ann',
      tests.user_state('ann', '2026-01-01 10:00:00+00')),
    tests.delivery('msg_b3', 'user.updated', '2026-01-01 09:00:00+00', 'user_ann',
      tests.user_state('ann', '2026-01-01 09:00:00+00', '{"first_name": "Old"}')),
    tests.delivery('msg_b4', 'user.created', '2026-01-01 12:00:00+00', 'user_bob',
      tests.user_state('bob', '2026-01-01 12:00:00+00', '{"email": "ANN@example.com"}')),
    tests.delivery('msg_b5', 'session.created', '2026-01-01 12:00:00+00')
  )),
  array['applied', 'applied', 'duplicate', 'stale', 'applied', 'ignored'],
  'Each delivery of a batch gets its own outcome, in order; one twice in a batch is a duplicate.'
);
select results_eq(
  $$select clerk_id, email, first_name from public.users where clerk_id in ('user_ann', 'user_bob') order by 1$$,
  $$values ('user_ann', null::text, 'Annie'), ('user_bob', 'ANN@example.com', 'Bob')$$,
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
    tests.delivery('msg_b2', 'user.updated', '2026-01-01 11:00:00+00', 'user_ann',
      tests.user_state('ann', '2026-01-01 11:00:00+00'))
  )),
  array['duplicate'],
  'A delivery recorded by an earlier batch is a duplicate.'
);
select is(public.apply_clerk_events('[]'), '{}'::text[], 'An empty batch does nothing.');

-- ---------------------------------------------------------------- all or nothing

select throws_ok(
  $$select public.apply_clerk_events(jsonb_build_array(
    tests.delivery('msg_c1', 'user.created', '2026-01-01 10:00:00+00', 'user_cy', tests.user_state('cy')),
    tests.delivery('msg_c2', 'user.created', '2026-01-01 10:00:00+00', null, tests.user_state('cy2'))
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

select * from finish();
rollback;
