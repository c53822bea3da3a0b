-- public.apply_clerk_events() commits nothing once the caller's deadline has passed: the
-- function has answered 503 by then, and Svix will redeliver.

begin;
select plan(5);

select ok(
  tests.is_canceled($$select tests.deliver('msg_late', 'user.created', now(), 'user_late',
      tests.user_state('late', now()), clock_timestamp() - interval '1 second')$$),
  'A call that reaches the database after its deadline raises query_canceled.'
);
select ok(
  tests.is_canceled($$select public.apply_clerk_events(jsonb_build_array(
      tests.delivery('msg_late_1', 'user.created', now(), 'user_late_1', tests.user_state('late1', now())),
      tests.delivery('msg_late_2', 'user.deleted', now(), 'user_late_2')
    ), clock_timestamp() - interval '1 second')$$),
  'A batch that reaches the database after its deadline raises query_canceled.'
);
select is_empty(
  $$select 1 from clerk_sync.deliveries where svix_id like 'msg_late%'$$,
  'A call past its deadline records nothing in the ledger.'
);
select is(
  tests.deliver('msg_late', 'user.created', now(), 'user_late', tests.user_state('late', now()),
    clock_timestamp() + interval '8 seconds'),
  'applied',
  'Its redelivery, within its deadline, is applied.'
);
select is(
  tests.deliver('msg_no_deadline', 'user.deleted', now(), 'user_late'),
  'applied',
  'A call without a deadline is applied as before.'
);

select * from finish();
rollback;
