-- Behaviour of public.apply_clerk_user_event(), the only writer of public.users, and of
-- clerk_sync.prune_deliveries(). Runs as the owner (postgres); the roles are tested in
-- security.test.sql. Every call names its arguments, so each delivery reads as the
-- webhook it stands for.

begin;
select plan(64);

-- ---------------------------------------------------------------- user.created

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_created', p_event_type => 'user.created',
    p_event_at => '2026-01-01 10:00:01+00', p_clerk_id => 'user_a',
    p_email => 'ada@example.com', p_first_name => 'Ada', p_last_name => 'Lovelace',
    p_image_url => 'https://img.clerk.com/a.png',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:00:00+00'
  ),
  'applied',
  'A user.created delivery for a new user is applied.'
);

select results_eq(
  $$select clerk_id, email, first_name, last_name, image_url,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    from public.users where clerk_id = 'user_a'$$,
  $$values ('user_a', 'ada@example.com', 'Ada', 'Lovelace', 'https://img.clerk.com/a.png',
      '2026-01-01 10:00:00+00'::timestamptz, '2026-01-01 10:00:00+00'::timestamptz,
      '2026-01-01 10:00:01+00'::timestamptz, 'msg_a_created')$$,
  'The created row holds the delivered state, its Clerk times, envelope time and svix-id.'
);

select results_eq(
  $$select event_type, clerk_id, event_at, outcome
    from clerk_sync.deliveries where svix_id = 'msg_a_created'$$,
  $$values ('user.created', 'user_a', '2026-01-01 10:00:01+00'::timestamptz, 'applied')$$,
  'The ledger records the delivery with its type, user, envelope time and outcome applied.'
);

-- ---------------------------------------------------------------- redelivery

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_created', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:00:01+00', p_clerk_id => 'user_a',
    p_email => 'mallory@example.com', p_first_name => 'Mallory',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
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

-- ---------------------------------------------------------------- ordering

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_updated_2', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 10:05:01+00', p_clerk_id => 'user_a',
    p_email => 'ada.king@example.com', p_first_name => 'Ada', p_last_name => 'King',
    p_image_url => 'https://img.clerk.com/a2.png',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:05:00+00'
  ),
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
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_updated_1', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 10:30:00+00', p_clerk_id => 'user_a',
    p_email => 'ada.byron@example.com', p_first_name => 'Ada', p_last_name => 'Byron',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:02:00+00'
  ),
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

-- Equal clerk_updated_at: the later envelope timestamp (event_at) wins; with equal
-- event_at too, the greater svix-id wins.

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_m', p_event_type => 'user.created',
    p_event_at => '2026-01-01 11:00:05+00', p_clerk_id => 'user_b',
    p_email => 'grace@example.com', p_first_name => 'M',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'applied',
  'Tie-break setup: the first state of user_b is applied.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_z', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:00:04+00', p_clerk_id => 'user_b',
    p_email => 'grace@example.com', p_first_name => 'Z',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'stale',
  'With equal clerk_updated_at, an earlier event_at is stale even with a greater svix-id.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_a', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:00:06+00', p_clerk_id => 'user_b',
    p_email => 'grace@example.com', p_first_name => 'A',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'applied',
  'With equal clerk_updated_at, a later event_at is applied even with a smaller svix-id.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_0', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:00:06+00', p_clerk_id => 'user_b',
    p_email => 'grace@example.com', p_first_name => '0',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'stale',
  'With equal clerk_updated_at and event_at, a smaller svix-id is stale.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_b', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:00:06+00', p_clerk_id => 'user_b',
    p_email => 'grace@example.com', p_first_name => 'B',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:00:00+00'
  ),
  'applied',
  'With equal clerk_updated_at and event_at, a greater svix-id is applied.'
);

select results_eq(
  $$select first_name, clerk_event_at, svix_id from public.users where clerk_id = 'user_b'$$,
  $$values ('B', '2026-01-01 11:00:06+00'::timestamptz, 'msg_b_b')$$,
  'After the ties, the row holds the state ordered last by (clerk_updated_at, event_at, svix-id).'
);

-- ---------------------------------------------------------------- user.deleted

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_deleted', p_event_type => 'user.deleted',
    p_event_at => '2026-01-01 12:00:00+00', p_clerk_id => 'user_a'
  ),
  'applied',
  'A user.deleted for a stored user is applied.'
);

select is_empty(
  $$select 1 from public.users where clerk_id = 'user_a'$$,
  'user.deleted removes the row.'
);

select results_eq(
  $$select clerk_id, deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_a'$$,
  $$values ('user_a', '2026-01-01 12:00:00+00'::timestamptz, 'msg_a_deleted')$$,
  'user.deleted writes a tombstone with the envelope time and svix-id.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_deleted_again', p_event_type => 'user.deleted',
    p_event_at => '2026-01-01 12:30:00+00', p_clerk_id => 'user_a'
  ),
  'stale',
  'A second user.deleted (another svix-id) for a deleted user is stale.'
);

select results_eq(
  $$select deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_a'$$,
  $$values ('2026-01-01 12:00:00+00'::timestamptz, 'msg_a_deleted')$$,
  'A second user.deleted keeps the first tombstone.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_updated_3', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:59:59+00', p_clerk_id => 'user_a',
    p_email => 'ada@example.com', p_first_name => 'Ada',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 11:59:58+00'
  ),
  'stale',
  'A user.updated delivered after the user.deleted is stale.'
);

select is_empty(
  $$select 1 from public.users where clerk_id = 'user_a'$$,
  'A user.updated delivered after the user.deleted does not bring the row back.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_ghost_deleted', p_event_type => 'user.deleted',
    p_event_at => '2026-01-01 13:00:00+00', p_clerk_id => 'user_ghost'
  ),
  'applied',
  'A user.deleted for a user never stored is applied.'
);

select results_eq(
  $$select clerk_id, deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_ghost'$$,
  $$values ('user_ghost', '2026-01-01 13:00:00+00'::timestamptz, 'msg_ghost_deleted')$$,
  'A user.deleted for a user never stored writes a tombstone.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_ghost_created', p_event_type => 'user.created',
    p_event_at => '2026-01-01 12:59:00+00', p_clerk_id => 'user_ghost',
    p_email => 'ghost@example.com',
    p_clerk_created_at => '2026-01-01 12:59:00+00', p_clerk_updated_at => '2026-01-01 12:59:00+00'
  ),
  'stale',
  'A user.created delivered after the user.deleted is stale.'
);

select is_empty(
  $$select 1 from public.users where clerk_id = 'user_ghost' or email = 'ghost@example.com'$$,
  'A user.created delivered after the user.deleted writes no row.'
);

-- ---------------------------------------------------------------- emails

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_c_created', p_event_type => 'user.created',
    p_event_at => '2026-01-01 13:30:00+00', p_clerk_id => 'user_c',
    p_clerk_created_at => '2026-01-01 13:30:00+00', p_clerk_updated_at => '2026-01-01 13:30:00+00'
  ),
  'applied',
  'A user without an email address is applied.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_d_created', p_event_type => 'user.created',
    p_event_at => '2026-01-01 13:31:00+00', p_clerk_id => 'user_d', p_email => null,
    p_clerk_created_at => '2026-01-01 13:31:00+00', p_clerk_updated_at => '2026-01-01 13:31:00+00'
  ),
  'applied',
  'A second user without an email address is applied: null emails do not collide.'
);

select results_eq(
  $$select clerk_id, email from public.users where clerk_id in ('user_c', 'user_d') order by clerk_id$$,
  $$values ('user_c', null::text), ('user_d', null::text)$$,
  'Users without an email address are stored with a null email.'
);

select throws_ok(
  $$insert into public.users (clerk_id, email, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('user_direct', 'GRACE@Example.COM', now(), now(), now(), 'msg_direct')$$,
  '23505',
  'duplicate key value violates unique constraint "users_email_lower_key"',
  'Two rows cannot hold the same email in different case.'
);

-- An email moves from user_e (older state) to user_f (newer state); user_f's state is
-- delivered first.

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_f_1', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 14:10:01+00', p_clerk_id => 'user_f', p_email => 'shared@example.com',
    p_clerk_created_at => '2026-01-01 09:00:00+00', p_clerk_updated_at => '2026-01-01 14:10:00+00'
  ),
  'applied',
  'Email move, newer first: the newer state holding the email is applied.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_e_1', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 14:00:01+00', p_clerk_id => 'user_e', p_email => 'Shared@Example.com',
    p_clerk_created_at => '2026-01-01 09:00:00+00', p_clerk_updated_at => '2026-01-01 14:00:00+00'
  ),
  'applied',
  'Email move, newer first: the older state of the other user is still applied.'
);

select results_eq(
  $$select clerk_id, email from public.users where clerk_id in ('user_e', 'user_f') order by clerk_id$$,
  $$values ('user_e', null::text), ('user_f', 'shared@example.com')$$,
  'Email move, newer first: the older state gets a null email and the newer keeps it.'
);

-- The same move with the older state delivered first.

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_g_1', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 15:00:01+00', p_clerk_id => 'user_g', p_email => 'moved@example.com',
    p_clerk_created_at => '2026-01-01 09:00:00+00', p_clerk_updated_at => '2026-01-01 15:00:00+00'
  ),
  'applied',
  'Email move, older first: the older state holding the email is applied.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_h_1', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 15:10:01+00', p_clerk_id => 'user_h', p_email => 'MOVED@example.com',
    p_clerk_created_at => '2026-01-01 09:00:00+00', p_clerk_updated_at => '2026-01-01 15:10:00+00'
  ),
  'applied',
  'Email move, older first: the newer state of the other user is applied.'
);

select results_eq(
  $$select clerk_id, email from public.users where clerk_id in ('user_g', 'user_h') order by clerk_id$$,
  $$values ('user_g', null::text), ('user_h', 'MOVED@example.com')$$,
  'Email move, older first: the newer state takes the email and the older one is cleared.'
);

-- ---------------------------------------------------------------- other events

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_session', p_event_type => 'session.created',
    p_event_at => '2026-01-01 16:00:00+00', p_clerk_id => 'user_b'
  ),
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

-- ---------------------------------------------------------------- updated_at

alter table public.users disable trigger users_touch_updated_at;
update public.users
set created_at = '2000-01-01 00:00:00+00', updated_at = '2000-01-01 00:00:00+00'
where clerk_id = 'user_b';
alter table public.users enable trigger users_touch_updated_at;

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_old', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 10:59:00+00', p_clerk_id => 'user_b',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 10:59:00+00'
  ),
  'stale',
  'updated_at setup: an older update of user_b is stale.'
);

select is(
  (select updated_at from public.users where clerk_id = 'user_b'),
  '2000-01-01 00:00:00+00'::timestamptz,
  'A stale delivery leaves updated_at alone.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_b_c', p_event_type => 'user.updated',
    p_event_at => '2026-01-01 11:30:01+00', p_clerk_id => 'user_b', p_first_name => 'C',
    p_clerk_created_at => '2026-01-01 11:00:00+00', p_clerk_updated_at => '2026-01-01 11:30:00+00'
  ),
  'applied',
  'updated_at setup: a newer update of user_b is applied.'
);

select results_eq(
  $$select created_at, updated_at from public.users where clerk_id = 'user_b'$$,
  $$values ('2000-01-01 00:00:00+00'::timestamptz, now())$$,
  'An applied update moves updated_at to the time of the write and keeps created_at.'
);

-- ---------------------------------------------------------------- wrong calls

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => null, p_event_type => 'user.updated', p_event_at => '2026-01-01 17:00:00+00',
      p_clerk_id => 'user_b', p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
  '22004',
  'p_svix_id, p_event_type and p_event_at are required',
  'A call without p_svix_id raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_1', p_event_type => null, p_event_at => '2026-01-01 17:00:00+00',
      p_clerk_id => 'user_b', p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
  '22004',
  'p_svix_id, p_event_type and p_event_at are required',
  'A call without p_event_type raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_2', p_event_type => 'user.updated', p_event_at => null,
      p_clerk_id => 'user_b', p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
  '22004',
  'p_svix_id, p_event_type and p_event_at are required',
  'A call without p_event_at raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_3', p_event_type => 'user.updated', p_event_at => '2026-01-01 17:00:00+00',
      p_clerk_created_at => now(), p_clerk_updated_at => now())$$,
  '22004',
  'user.updated needs p_object_id',
  'A user.updated without p_clerk_id raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_4', p_event_type => 'user.deleted', p_event_at => '2026-01-01 17:00:00+00')$$,
  '22004',
  'user.deleted needs p_object_id',
  'A user.deleted without p_clerk_id raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_5', p_event_type => 'user.created', p_event_at => '2026-01-01 17:00:00+00',
      p_clerk_id => 'user_i', p_clerk_created_at => '2026-01-01 17:00:00+00')$$,
  '22004',
  'user.created needs clerk_created_at and clerk_updated_at in p_state',
  'A user.created without p_clerk_updated_at raises null_value_not_allowed.'
);

select throws_ok(
  $$select public.apply_clerk_user_event(
      p_svix_id => 'msg_bad_6', p_event_type => 'user.updated', p_event_at => '2026-01-01 17:00:00+00',
      p_clerk_id => 'user_b', p_clerk_updated_at => '2026-01-01 17:00:00+00')$$,
  '22004',
  'user.updated needs clerk_created_at and clerk_updated_at in p_state',
  'A user.updated without p_clerk_created_at raises null_value_not_allowed.'
);

select is_empty(
  $$select 1 from clerk_sync.deliveries where svix_id like 'msg_bad_%'
    union all select 1 from public.users where clerk_id = 'user_i'$$,
  'A rejected call leaves no ledger entry and no row, so its retry is processed afresh.'
);

-- ---------------------------------------------------------------- the ledger

select results_eq(
  $$select svix_id, outcome from clerk_sync.deliveries order by svix_id collate "C"$$,
  $$values
    ('msg_a_created', 'applied'),
    ('msg_a_deleted', 'applied'),
    ('msg_a_deleted_again', 'stale'),
    ('msg_a_updated_1', 'stale'),
    ('msg_a_updated_2', 'applied'),
    ('msg_a_updated_3', 'stale'),
    ('msg_b_0', 'stale'),
    ('msg_b_a', 'applied'),
    ('msg_b_b', 'applied'),
    ('msg_b_c', 'applied'),
    ('msg_b_m', 'applied'),
    ('msg_b_old', 'stale'),
    ('msg_b_z', 'stale'),
    ('msg_c_created', 'applied'),
    ('msg_d_created', 'applied'),
    ('msg_e_1', 'applied'),
    ('msg_f_1', 'applied'),
    ('msg_g_1', 'applied'),
    ('msg_ghost_created', 'stale'),
    ('msg_ghost_deleted', 'applied'),
    ('msg_h_1', 'applied'),
    ('msg_session', 'ignored')$$,
  'The ledger holds one entry per svix-id with the outcome its call returned, none left pending.'
);

-- ---------------------------------------------------------------- pruning

update clerk_sync.deliveries set received_at = now() - interval '31 days'
where svix_id in ('msg_a_created', 'msg_a_deleted', 'msg_ghost_deleted', 'msg_session');
update clerk_sync.deliveries set received_at = now() - interval '29 days'
where svix_id = 'msg_a_updated_2';

select is(
  clerk_sync.prune_deliveries('30 days'),
  4::bigint,
  'prune_deliveries(30 days) deletes the ledger entries received more than 30 days ago and counts them.'
);

select is_empty(
  $$select 1 from clerk_sync.deliveries
    where svix_id in ('msg_a_created', 'msg_a_deleted', 'msg_ghost_deleted', 'msg_session')$$,
  'The pruned entries are gone from the ledger.'
);

select is(
  (select count(*) from clerk_sync.deliveries),
  18::bigint,
  'Entries younger than 30 days, one of them 29 days old, are kept.'
);

select results_eq(
  $$select clerk_id, svix_id from clerk_sync.tombstones order by clerk_id$$,
  $$values ('user_a', 'msg_a_deleted'), ('user_ghost', 'msg_ghost_deleted')$$,
  'Pruning keeps the tombstones, even those whose user.deleted entry was pruned.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_a_created', p_event_type => 'user.created',
    p_event_at => '2026-01-01 10:00:01+00', p_clerk_id => 'user_a',
    p_email => 'ada@example.com', p_first_name => 'Ada',
    p_clerk_created_at => '2026-01-01 10:00:00+00', p_clerk_updated_at => '2026-01-01 10:00:00+00'
  ),
  'stale',
  'A replay of a pruned user.created of a deleted user is stale, thanks to the tombstone.'
);

select is_empty(
  $$select 1 from public.users where clerk_id = 'user_a'$$,
  'A replay of a pruned user.created of a deleted user does not bring the row back.'
);

select throws_ok(
  $$select clerk_sync.prune_deliveries('1 hour')$$,
  '22023',
  null,
  'prune_deliveries() refuses a window shorter than Svix''s 27.6 hours of retries.'
);

select is(
  (select count(*) from clerk_sync.deliveries),
  19::bigint,
  'A refused prune deletes nothing.'
);

select is(
  clerk_sync.prune_deliveries(),
  0::bigint,
  'prune_deliveries() with its default window deletes nothing younger than 30 days.'
);

select is(
  (select count(*) from clerk_sync.deliveries),
  19::bigint,
  'The ledger still holds every young entry after pruning with the default window.'
);

select * from finish();
rollback;
