-- The user row apps build on, as deliveries through public.apply_clerk_events() write it:
-- every field of a state, private metadata kept apart, rows of the first release's format
-- filled by a newer format, emails unique regardless of case and moving to the newer
-- state, and updated_at. Runs as the owner; the roles are in security.test.sql.

begin;
select plan(31);

-- ---------------------------------------------------------------- a whole state

select is(
  tests.deliver('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada', tests.user_state('ada')),
  'applied',
  'A user.created with the whole state is applied.'
);
select results_eq(
  $$select clerk_id, email, first_name, last_name, image_url,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    from public.users where clerk_id = 'user_ada'$$,
  $$values ('user_ada', 'ada@example.com', 'Ada', 'Example', 'https://img.clerk.com/ada',
      '2026-01-01 08:00:00+00'::timestamptz, '2026-01-01 10:00:00+00'::timestamptz,
      '2026-01-01 10:00:01+00'::timestamptz, 'msg_1')$$,
  'The created row holds the delivered state, its Clerk times, envelope time and svix-id.'
);
select results_eq(
  $$select email, email_verified, phone_number, username, external_id, public_metadata,
      unsafe_metadata, banned, locked, last_sign_in_at, deleted_at, sync_format
    from public.users where clerk_id = 'user_ada'$$,
  $$values ('ada@example.com', true, '+15550000001', 'ada', 'ext-ada', '{"role": "admin"}'::jsonb,
      '{"theme": "dark"}'::jsonb, false, false, '2026-01-01 09:00:00+00'::timestamptz,
      null::timestamptz, 2::smallint)$$,
  'Every new column holds the state.'
);
select is(
  (select private_metadata from public.users_private where clerk_id = 'user_ada'),
  '{"stripe": "cus_1"}'::jsonb,
  'private_metadata goes to public.users_private.'
);
select results_eq(
  $$select event_type, clerk_id, event_at, outcome from clerk_sync.deliveries where svix_id = 'msg_1'$$,
  $$values ('user.created', 'user_ada', '2026-01-01 10:00:01+00'::timestamptz, 'applied')$$,
  'The ledger records the delivery with its type, user, envelope time and outcome applied.'
);
select is(
  tests.deliver('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada', tests.user_state('ada')),
  'duplicate',
  'A redelivery is a duplicate.'
);
select is(
  tests.deliver('msg_2', 'user.updated', '2026-01-01 10:05:01+00', 'user_ada',
    tests.user_state('ada', '2026-01-01 10:05:00+00', '{"username": null,
      "phone_number": "+15550000002", "public_metadata": null, "banned": true,
      "private_metadata": {"stripe": "cus_2"}}')),
  'applied',
  'A newer user.updated is applied.'
);
select results_eq(
  $$select u.username, u.phone_number, u.public_metadata, u.banned, p.private_metadata
    from public.users u join public.users_private p using (clerk_id) where clerk_id = 'user_ada'$$,
  $$values (null::text, '+15550000002', '{}'::jsonb, true, '{"stripe": "cus_2"}'::jsonb)$$,
  'A username set to null, a phone switched, public_metadata null as {}, a ban and new private metadata all land.'
);
select is(
  tests.deliver('msg_3', 'user.updated', '2026-01-01 10:02:01+00', 'user_ada',
    tests.user_state('ada', '2026-01-01 10:02:00+00', '{"username": "old"}')),
  'stale',
  'An older user.updated is stale.'
);
select is(
  (select username from public.users where clerk_id = 'user_ada'), null,
  'A stale event changes nothing.'
);
select is(
  tests.deliver('msg_4', 'user.updated', '2026-01-01 10:06:01+00', 'user_ada',
    tests.user_state('ada', '2026-01-01 10:06:00+00') - 'private_metadata'),
  'applied',
  'A state without private_metadata is applied.'
);
select is(
  (select private_metadata from public.users_private where clerk_id = 'user_ada'),
  '{"stripe": "cus_2"}'::jsonb,
  'A state without private_metadata leaves the stored one.'
);

-- ---------------------------------------------------------------- the first release's format

-- A row written by the first release holds its five fields, without sync_format (as
-- public.apply_clerk_user_event() still sends them); the same Clerk state in the new
-- format fills it.
select is(
  tests.deliver('msg_old', 'user.created', '2026-01-01 10:00:01+00', 'user_old',
    '{"email": "old@example.com", "first_name": null, "last_name": null, "image_url": null,
      "clerk_created_at": "2026-01-01 08:00:00+00", "clerk_updated_at": "2026-01-01 10:00:00+00"}'),
  'applied',
  'A state of the first release''s five fields is applied.'
);
select results_eq(
  $$select sync_format, public_metadata, banned, email_verified from public.users where clerk_id = 'user_old'$$,
  $$values (1::smallint, '{}'::jsonb, false, false)$$,
  'Its row has format 1 and the new columns at their defaults.'
);
select is(
  tests.deliver('backfill:user_old:x:2', 'user.updated', '2026-01-01 10:00:00+00', 'user_old',
    tests.user_state('ada', '2026-01-01 10:00:00+00',
      '{"email": "old@example.com", "public_metadata": {"plan": "pro"}}')),
  'applied',
  'The same Clerk state in format 2, though older by envelope time, fills the row.'
);
select results_eq(
  $$select sync_format, public_metadata, username, svix_id, clerk_event_at
    from public.users where clerk_id = 'user_old'$$,
  $$values (2::smallint, '{"plan": "pro"}'::jsonb, 'ada', 'msg_old', '2026-01-01 10:00:01+00'::timestamptz)$$,
  'The new columns are filled; the row keeps its version.'
);
select is(
  tests.deliver('backfill:user_old:y:2', 'user.updated', '2026-01-01 10:00:00+00', 'user_old',
    tests.user_state('ada', '2026-01-01 10:00:00+00', '{"email": "old@example.com", "username": "again"}')),
  'stale',
  'Once filled, the same older delivery is stale again.'
);

-- ---------------------------------------------------------------- emails

select is(
  tests.deliver('msg_c_created', 'user.created', '2026-01-01 13:30:00+00', 'user_c',
    tests.user_state('c', '2026-01-01 13:30:00+00', '{"email": null}')),
  'applied',
  'A user without an email address is applied.'
);
select is(
  tests.deliver('msg_d_created', 'user.created', '2026-01-01 13:31:00+00', 'user_d',
    tests.user_state('d', '2026-01-01 13:31:00+00', '{"email": null}')),
  'applied',
  'A second user without an email address is applied: null emails do not collide.'
);
select results_eq(
  $$select clerk_id, email, email_verified from public.users
    where clerk_id in ('user_c', 'user_d') order by clerk_id$$,
  $$values ('user_c', null::text, false), ('user_d', null::text, false)$$,
  'Users without an email address are stored with a null email, not verified.'
);
select throws_ok(
  $$insert into public.users (clerk_id, email, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('user_direct', 'ADA@Example.COM', now(), now(), now(), 'msg_direct')$$,
  '23505',
  'duplicate key value violates unique constraint "users_email_lower_key"',
  'Two rows cannot hold the same email in different case.'
);

-- An email moves from one user to another: whichever state arrives first, the newer
-- state holds it and the older one is left without.
select is(tests.deliver(d.svix_id, 'user.updated', d.event_at, d.clerk_id,
    tests.user_state(d.name, d.updated_at, jsonb_build_object('email', d.email))),
  'applied', d.description)
from (values
  ('msg_f_1', timestamptz '2026-01-01 14:10:01+00', 'user_f', 'f',
    timestamptz '2026-01-01 14:10:00+00', 'shared@example.com',
    'Email move, newer first: the newer state holding the email is applied.'),
  ('msg_e_1', '2026-01-01 14:00:01+00', 'user_e', 'e', '2026-01-01 14:00:00+00', 'Shared@Example.com',
    'Email move, newer first: the older state of the other user is still applied.')
) as d(svix_id, event_at, clerk_id, name, updated_at, email, description);
select results_eq(
  $$select clerk_id, email from public.users where clerk_id in ('user_e', 'user_f') order by clerk_id$$,
  $$values ('user_e', null::text), ('user_f', 'shared@example.com')$$,
  'Email move, newer first: the older state gets a null email and the newer keeps it.'
);
select is(tests.deliver(d.svix_id, 'user.updated', d.event_at, d.clerk_id,
    tests.user_state(d.name, d.updated_at, jsonb_build_object('email', d.email))),
  'applied', d.description)
from (values
  ('msg_g_1', timestamptz '2026-01-01 15:00:01+00', 'user_g', 'g',
    timestamptz '2026-01-01 15:00:00+00', 'moved@example.com',
    'Email move, older first: the older state holding the email is applied.'),
  ('msg_h_1', '2026-01-01 15:10:01+00', 'user_h', 'h', '2026-01-01 15:10:00+00', 'MOVED@example.com',
    'Email move, older first: the newer state of the other user is applied.')
) as d(svix_id, event_at, clerk_id, name, updated_at, email, description);
select results_eq(
  $$select clerk_id, email from public.users where clerk_id in ('user_g', 'user_h') order by clerk_id$$,
  $$values ('user_g', null::text), ('user_h', 'MOVED@example.com')$$,
  'Email move, older first: the newer state takes the email and the older one is cleared.'
);

-- ---------------------------------------------------------------- updated_at

alter table public.users disable trigger users_touch_updated_at;
update public.users
set created_at = '2000-01-01 00:00:00+00', updated_at = '2000-01-01 00:00:00+00'
where clerk_id = 'user_ada';
alter table public.users enable trigger users_touch_updated_at;

select is(
  tests.deliver('msg_5', 'user.updated', '2026-01-01 10:03:01+00', 'user_ada',
    tests.user_state('ada', '2026-01-01 10:03:00+00')),
  'stale',
  'updated_at setup: an older update of user_ada is stale.'
);
select is(
  (select updated_at from public.users where clerk_id = 'user_ada'),
  '2000-01-01 00:00:00+00'::timestamptz,
  'A stale delivery leaves updated_at alone.'
);
select is(
  tests.deliver('msg_6', 'user.updated', '2026-01-01 10:30:01+00', 'user_ada',
    tests.user_state('ada', '2026-01-01 10:30:00+00', '{"first_name": "Augusta"}')),
  'applied',
  'updated_at setup: a newer update of user_ada is applied.'
);
select results_eq(
  $$select created_at, updated_at from public.users where clerk_id = 'user_ada'$$,
  $$values ('2000-01-01 00:00:00+00'::timestamptz, now())$$,
  'An applied update moves updated_at to the time of the write and keeps created_at.'
);

select * from finish();
rollback;
