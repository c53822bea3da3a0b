-- What public.apply_clerk_events() refuses, by errcode and message, for a delivery alone
-- (its short path) and in a batch; a refused call records and writes nothing, so its
-- retry is processed afresh.

begin;
select plan(17);

-- Each row: the deliveries of one call, and the error that call raises. A delivery is
-- tests.delivery(svix_id, type, event_at, object_id, state); "- 'key'" leaves a key out.
select throws_ok(
  format('select public.apply_clerk_events(%L)', c.events),
  c.errcode::char(5),
  c.message,
  c.description
)
from (values
  (jsonb_build_array(tests.delivery('msg_bad_1', 'user.updated', '2026-01-01 17:00:00+00', 'user_b',
    tests.user_state('b')) - 'svix_id'),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A delivery without svix_id raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_2', null, '2026-01-01 17:00:00+00', 'user_b',
    tests.user_state('b'))),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A delivery without a type raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_3', 'user.updated', null, 'user_b', tests.user_state('b'))),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A delivery without event_at raises null_value_not_allowed.'),
  (jsonb_build_array(
    tests.delivery('msg_bad_4', 'user.deleted', '2026-01-01 17:00:00+00', 'user_b'),
    tests.delivery('msg_bad_5', 'user.updated', '2026-01-01 17:00:00+00', 'user_b',
      tests.user_state('b')) - 'svix_id'),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A batch with a delivery without svix_id raises null_value_not_allowed.'),
  (jsonb_build_array(
    tests.delivery('msg_bad_6', 'user.deleted', '2026-01-01 17:00:00+00', 'user_b'),
    tests.delivery('msg_bad_7', null, '2026-01-01 17:00:00+00', 'user_b', tests.user_state('b'))),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A batch with a delivery without a type raises null_value_not_allowed.'),
  (jsonb_build_array(
    tests.delivery('msg_bad_8', 'user.deleted', '2026-01-01 17:00:00+00', 'user_b'),
    tests.delivery('msg_bad_9', 'user.updated', null, 'user_b', tests.user_state('b'))),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A batch with a delivery without event_at raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_10', 'user.updated', '2026-01-01 17:00:00+00', null,
    tests.user_state('b'))),
    '22004', 'user.updated needs p_object_id',
    'A user.updated without its user id raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_11', 'user.created', '2026-01-01 17:00:00+00', null,
    tests.user_state('g'))),
    '22004', 'user.created needs p_object_id',
    'A user.created without its user id raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_12', 'user.deleted', '2026-01-01 17:00:00+00', null)),
    '22004', 'user.deleted needs p_object_id',
    'A user.deleted without its user id raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_13', 'user.created', '2026-01-01 17:00:00+00', 'user_g')),
    '22004', 'user.created needs p_state',
    'A user.created without a state raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_14', 'user.created', '2026-01-01 17:00:00+00', 'user_i',
    tests.user_state('i') - 'clerk_updated_at')),
    '22004', 'user.created needs clerk_created_at and clerk_updated_at in p_state',
    'A user.created without clerk_updated_at raises null_value_not_allowed.'),
  (jsonb_build_array(tests.delivery('msg_bad_15', 'user.updated', '2026-01-01 17:00:00+00', 'user_b',
    tests.user_state('b') - 'clerk_created_at')),
    '22004', 'user.updated needs clerk_created_at and clerk_updated_at in p_state',
    'A user.updated without clerk_created_at raises null_value_not_allowed.'),
  (jsonb_build_object('svix_id', 'msg_bad_16'),
    '22023', 'p_events must be a JSON array of deliveries',
    'A batch that is not an array is refused.'),
  (jsonb_build_array('msg_bad_17'),
    '22023', 'p_events must be a JSON array of deliveries',
    'A delivery that is not an object is refused.'),
  (jsonb_build_array(jsonb_build_object('svix_id', 'msg_bad_18', 'type', 'user.created')),
    '22004', 'Every delivery needs svix_id, type and event_at',
    'A delivery without its envelope is refused.'),
  ((select jsonb_agg(tests.delivery('msg_bad_' || (100 + i), 'user.deleted', '2026-01-01 10:00:00+00', 'user_e' || i))
    from generate_series(1, 1001) i),
    '54000', 'A batch holds at most 1000 deliveries: got 1001',
    'A batch over 1000 deliveries is refused.')
) as c(events, errcode, message, description);

select is_empty(
  $$select 1 from clerk_sync.deliveries where svix_id like 'msg_bad_%'
    union all select 1 from public.users where clerk_id in ('user_b', 'user_g', 'user_i')$$,
  'A refused call leaves no ledger entry and no row, so its retry is processed afresh.'
);

select * from finish();
rollback;
