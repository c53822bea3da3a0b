-- Which state a row ends with, whatever the order of its deliveries: Clerk's updated_at,
-- then the envelope timestamp (event_at), then the svix-id in byte order; a redelivery is
-- a duplicate, an event the sync does not keep is ignored, and the ledger records each
-- delivery's outcome. Every delivery goes through public.apply_clerk_events().

begin;
select plan(20);

select is(
  tests.deliver('msg_a_created', 'user.created', '2026-01-01 10:00:01+00', 'user_a',
    tests.user_state('ada', '2026-01-01 10:00:00+00')),
  'applied',
  'A user.created delivery for a new user is applied.'
);

-- ---------------------------------------------------------------- redelivery

select is(
  tests.deliver('msg_a_created', 'user.updated', '2026-01-01 11:00:01+00', 'user_a',
    tests.user_state('ada', '2026-01-01 11:00:00+00',
      '{"email": "mallory@example.com", "first_name": "Mallory"}')),
  'duplicate',
  'A delivery whose svix-id is already in the ledger returns duplicate, even with a newer state.'
);
select results_eq(
  $$select email, first_name, clerk_updated_at, svix_id from public.users where clerk_id = 'user_a'$$,
  $$values ('ada@example.com', 'Ada', '2026-01-01 10:00:00+00'::timestamptz, 'msg_a_created')$$,
  'A duplicate delivery leaves the row unchanged.'
);
select results_eq(
  $$select event_type, outcome from clerk_sync.deliveries where svix_id = 'msg_a_created'$$,
  $$values ('user.created', 'applied')$$,
  'A duplicate delivery leaves the ledger entry of the first delivery unchanged.'
);

-- ---------------------------------------------------------------- Clerk's updated_at

select is(
  tests.deliver('msg_a_updated_2', 'user.updated', '2026-01-01 10:05:01+00', 'user_a',
    tests.user_state('ada', '2026-01-01 10:05:00+00', '{"email": "ada.king@example.com",
      "last_name": "King", "image_url": "https://img.clerk.com/a2.png"}')),
  'applied',
  'A user.updated with a newer clerk_updated_at is applied.'
);
select results_eq(
  $$select email, last_name, image_url, clerk_updated_at, clerk_event_at, svix_id
    from public.users where clerk_id = 'user_a'$$,
  $$values ('ada.king@example.com', 'King', 'https://img.clerk.com/a2.png',
      '2026-01-01 10:05:00+00'::timestamptz, '2026-01-01 10:05:01+00'::timestamptz, 'msg_a_updated_2')$$,
  'The applied update replaces the stored state.'
);
select is(
  tests.deliver('msg_a_updated_1', 'user.updated', '2026-01-01 10:30:00+00', 'user_a',
    tests.user_state('ada', '2026-01-01 10:02:00+00',
      '{"email": "ada.byron@example.com", "last_name": "Byron"}')),
  'stale',
  'A user.updated with an older clerk_updated_at is stale, even when its envelope time is later.'
);
select results_eq(
  $$select email, last_name, clerk_updated_at, svix_id from public.users where clerk_id = 'user_a'$$,
  $$values ('ada.king@example.com', 'King', '2026-01-01 10:05:00+00'::timestamptz, 'msg_a_updated_2')$$,
  'A stale update leaves the row unchanged.'
);
select is(
  (select outcome from clerk_sync.deliveries where svix_id = 'msg_a_updated_1'),
  'stale',
  'The ledger records the stale update with outcome stale.'
);

-- ---------------------------------------------------------------- ties

-- Five states of user_b with the same clerk_updated_at, delivered in this order.
select is(
  tests.deliver(t.svix_id, t.type, t.event_at, 'user_b',
    tests.user_state('grace', '2026-01-01 11:00:00+00', jsonb_build_object('first_name', t.first_name))),
  t.outcome,
  t.description
)
from (values
  ('msg_b_m', 'user.created', timestamptz '2026-01-01 11:00:05+00', 'M', 'applied',
    'Tie-break setup: the first state of user_b is applied.'),
  ('msg_b_z', 'user.updated', '2026-01-01 11:00:04+00', 'Z', 'stale',
    'With equal clerk_updated_at, an earlier event_at is stale even with a greater svix-id.'),
  ('msg_b_a', 'user.updated', '2026-01-01 11:00:06+00', 'A', 'applied',
    'With equal clerk_updated_at, a later event_at is applied even with a smaller svix-id.'),
  ('msg_b_0', 'user.updated', '2026-01-01 11:00:06+00', '0', 'stale',
    'With equal clerk_updated_at and event_at, a smaller svix-id is stale.'),
  ('msg_b_b', 'user.updated', '2026-01-01 11:00:06+00', 'B', 'applied',
    'With equal clerk_updated_at and event_at, a greater svix-id is applied.')
) as t(svix_id, type, event_at, first_name, outcome, description);
select results_eq(
  $$select first_name, clerk_event_at, svix_id from public.users where clerk_id = 'user_b'$$,
  $$values ('B', '2026-01-01 11:00:06+00'::timestamptz, 'msg_b_b')$$,
  'After the ties, the row holds the state ordered last by (clerk_updated_at, event_at, svix-id).'
);

-- ---------------------------------------------------------------- other events

select is(
  tests.deliver('msg_session', 'session.created', '2026-01-01 16:00:00+00', 'user_b'),
  'ignored',
  'A session.created delivery is ignored.'
);
select results_eq(
  $$select event_type, clerk_id, outcome from clerk_sync.deliveries where svix_id = 'msg_session'$$,
  $$values ('session.created', 'user_b', 'ignored')$$,
  'An ignored delivery is recorded in the ledger with outcome ignored.'
);
select results_eq(
  $$select first_name, svix_id from public.users where clerk_id = 'user_b'$$,
  $$values ('B', 'msg_b_b')$$,
  'An ignored delivery leaves the row of its user unchanged.'
);
select is(
  tests.deliver('msg_sms', 'sms.created', '2026-01-01 16:00:00+00', 'sms_1', '{}'),
  'ignored',
  'An event type the sync does not keep is ignored.'
);

-- ---------------------------------------------------------------- the ledger

select results_eq(
  $$select svix_id, outcome from clerk_sync.deliveries order by svix_id collate "C"$$,
  $$values
    ('msg_a_created', 'applied'),
    ('msg_a_updated_1', 'stale'),
    ('msg_a_updated_2', 'applied'),
    ('msg_b_0', 'stale'),
    ('msg_b_a', 'applied'),
    ('msg_b_b', 'applied'),
    ('msg_b_m', 'applied'),
    ('msg_b_z', 'stale'),
    ('msg_session', 'ignored'),
    ('msg_sms', 'ignored')$$,
  'The ledger holds one entry per svix-id with the outcome its call returned, none left pending.'
);

select * from finish();
rollback;
