-- public.apply_clerk_event(): the one entry point, the user row apps build on, private
-- metadata kept private, and deletes that an app's foreign keys cannot break.

begin;
select plan(40);

create function pg_temp.state(p_extra jsonb default '{}') returns jsonb
language sql as $$
  select jsonb_build_object(
    'email', 'ada@example.com', 'email_verified', true, 'phone_number', '+15550000001',
    'username', 'ada', 'first_name', 'Ada', 'last_name', 'Lovelace',
    'image_url', 'https://img.clerk.com/ada', 'external_id', 'ext-ada',
    'public_metadata', '{"role": "admin"}'::jsonb, 'unsafe_metadata', '{"theme": "dark"}'::jsonb,
    'private_metadata', '{"stripe": "cus_1"}'::jsonb,
    'banned', false, 'locked', false, 'last_sign_in_at', '2026-01-01 09:00:00+00',
    'clerk_created_at', '2026-01-01 08:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00',
    'sync_format', 2
  ) || p_extra;
$$;

-- ---------------------------------------------------------------- the user row

select is(
  public.apply_clerk_event('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada', pg_temp.state()),
  'applied',
  'A user.created with the whole state is applied.'
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
select is(
  public.apply_clerk_event('msg_1', 'user.created', '2026-01-01 10:00:01+00', 'user_ada', pg_temp.state()),
  'duplicate',
  'A redelivery is a duplicate.'
);
select is(
  public.apply_clerk_event('msg_2', 'user.updated', '2026-01-01 10:05:01+00', 'user_ada',
    pg_temp.state('{"clerk_updated_at": "2026-01-01 10:05:00+00", "username": null,
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
  public.apply_clerk_event('msg_3', 'user.updated', '2026-01-01 10:02:01+00', 'user_ada',
    pg_temp.state('{"clerk_updated_at": "2026-01-01 10:02:00+00", "username": "old"}')),
  'stale',
  'An older user.updated is stale.'
);
select is(
  (select username from public.users where clerk_id = 'user_ada'), null,
  'A stale event changes nothing.'
);
select is(
  public.apply_clerk_event('msg_4', 'user.updated', '2026-01-01 10:06:01+00', 'user_ada',
    pg_temp.state('{"clerk_updated_at": "2026-01-01 10:06:00+00"}') - 'private_metadata'),
  'applied',
  'A state without private_metadata is applied.'
);
select is(
  (select private_metadata from public.users_private where clerk_id = 'user_ada'),
  '{"stripe": "cus_2"}'::jsonb,
  'A state without private_metadata leaves the stored one.'
);

-- The first release's entry point sends five fields: the others stay as they are.
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
  $$select first_name, username, phone_number, public_metadata, sync_format
    from public.users where clerk_id = 'user_ada'$$,
  $$values ('Augusta', 'ada', '+15550000001', '{"role": "admin"}'::jsonb, 2::smallint)$$,
  'It writes its five fields and leaves the others, and the format, as they were.'
);

-- A row of the first release's format is filled by the same Clerk state in the new format.
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
  $$select sync_format, public_metadata, banned, email_verified from public.users where clerk_id = 'user_old'$$,
  $$values (1::smallint, '{}'::jsonb, false, false)$$,
  'Its row has format 1 and the new columns at their defaults.'
);
select is(
  public.apply_clerk_event('backfill:user_old:x:2', 'user.updated', '2026-01-01 10:00:00+00', 'user_old',
    pg_temp.state('{"email": "old@example.com", "public_metadata": {"plan": "pro"}}')),
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
  public.apply_clerk_event('backfill:user_old:y:2', 'user.updated', '2026-01-01 10:00:00+00', 'user_old',
    pg_temp.state('{"email": "old@example.com", "username": "again"}')),
  'stale',
  'Once filled, the same older delivery is stale again.'
);

-- ---------------------------------------------------------------- deletes

-- An app's tables, referencing the users table as apps do.
create table public.posts (author uuid not null references public.users (id));
create table public.comments (author uuid not null references public.users (id) on delete cascade);
create table public.drafts (
  author uuid references public.users (id) deferrable initially deferred
);

select is(
  public.apply_clerk_event('msg_b1', 'user.created', '2026-01-01 10:00:01+00', 'user_bob',
    pg_temp.state('{"email": "bob@example.com", "username": "bob"}')),
  'applied',
  'Seed: user_bob.'
);
insert into public.comments select id from public.users where clerk_id = 'user_bob';
select is(
  public.apply_clerk_event('msg_b2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_bob', null),
  'applied',
  'A user.deleted of a user only cascading references point to is applied.'
);
select is(
  (select count(*)::int from public.users where clerk_id = 'user_bob') +
    (select count(*)::int from public.comments) +
    (select count(*)::int from public.users_private where clerk_id = 'user_bob'),
  0,
  'The row, its private metadata and the app''s on delete cascade rows are gone.'
);

select is(
  public.apply_clerk_event('msg_c1', 'user.created', '2026-01-01 10:00:01+00', 'user_carol',
    pg_temp.state('{"email": "carol@example.com", "username": "carol"}')),
  'applied',
  'Seed: user_carol.'
);
insert into public.posts select id from public.users where clerk_id = 'user_carol';
select is(
  public.apply_clerk_event('msg_c2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_carol', null),
  'applied',
  'A user.deleted whose row an app''s foreign key (no action) holds is applied, not an error.'
);
select results_eq(
  $$select email, first_name, last_name, image_url, username, phone_number, email_verified,
      external_id, public_metadata, unsafe_metadata, last_sign_in_at, deleted_at
    from public.users where clerk_id = 'user_carol'$$,
  $$values (null::text, null::text, null::text, null::text, null::text, null::text, false,
      null::text, '{}'::jsonb, '{}'::jsonb, null::timestamptz, '2026-01-01 11:00:00+00'::timestamptz)$$,
  'The row stays for the reference with every personal field erased and deleted_at set.'
);
select is(
  (select count(*)::int from public.users_private where clerk_id = 'user_carol'),
  0,
  'Its private metadata is gone.'
);
select is(
  (select count(*)::int from public.posts p join public.users u on u.id = p.author
   where u.clerk_id = 'user_carol'),
  1,
  'The app''s row still joins the kept row.'
);
select is(
  public.apply_clerk_event('msg_c3', 'user.updated', '2026-01-01 12:00:00+00', 'user_carol',
    pg_temp.state('{"email": "carol@example.com", "clerk_updated_at": "2026-01-01 12:00:00+00"}')),
  'stale',
  'A later event of the deleted user is stale: the tombstone keeps the person from coming back.'
);
select is(
  public.apply_clerk_event('msg_d1', 'user.created', '2026-01-01 12:00:01+00', 'user_dave',
    pg_temp.state('{"email": "carol@example.com", "clerk_updated_at": "2026-01-01 12:00:00+00"}')),
  'applied',
  'A new user takes the erased user''s email address.'
);
select is(
  (select email from public.users where clerk_id = 'user_dave'), 'carol@example.com',
  'The freed email is the new user''s.'
);
select is(
  public.apply_clerk_event('msg_c2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_carol', null),
  'duplicate',
  'A redelivered delete of the kept row is a duplicate.'
);

-- A deferred foreign key is checked at the delete, not at commit.
select is(
  public.apply_clerk_event('msg_e1', 'user.created', '2026-01-01 10:00:01+00', 'user_erin',
    pg_temp.state('{"email": "erin@example.com"}')),
  'applied',
  'Seed: user_erin.'
);
insert into public.drafts select id from public.users where clerk_id = 'user_erin';
select is(
  public.apply_clerk_event('msg_e2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_erin', null),
  'applied',
  'A user.deleted held by a deferred foreign key is applied.'
);
select is(
  (select deleted_at from public.users where clerk_id = 'user_erin'),
  '2026-01-01 11:00:00+00'::timestamptz,
  'The row held by a deferred foreign key is kept, erased, not left to fail at commit.'
);
set constraints all deferred;

-- Soft deletes for every user, by the database setting.
update clerk_sync.delete_modes set mode = 'soft' where entity = 'user';
select is(
  public.apply_clerk_event('msg_f1', 'user.created', '2026-01-01 10:00:01+00', 'user_fay',
    pg_temp.state('{"email": "fay@example.com"}')),
  'applied',
  'Seed: user_fay.'
);
select is(
  public.apply_clerk_event('msg_f2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_fay', null),
  'applied',
  'With soft deletes, a user.deleted with no reference to the row is applied.'
);
select results_eq(
  $$select email, username, deleted_at from public.users where clerk_id = 'user_fay'$$,
  $$values (null::text, null::text, '2026-01-01 11:00:00+00'::timestamptz)$$,
  'With soft deletes, the row is kept, erased.'
);
select is(
  (select count(*)::int from clerk_sync.tombstones where entity = 'user' and clerk_id = 'user_fay'),
  1,
  'With soft deletes, the tombstone is written as for any delete.'
);
update clerk_sync.delete_modes set mode = 'hard' where entity = 'user';

-- ---------------------------------------------------------------- arguments

select throws_ok(
  $$select public.apply_clerk_event('msg_g1', 'user.created', now(), 'user_g', null)$$,
  '22004', 'user.created needs p_state',
  'A user.created without a state raises null_value_not_allowed.'
);
select throws_ok(
  $$select public.apply_clerk_event('msg_g2', 'user.created', now(), null, pg_temp.state())$$,
  '22004', 'user.created needs p_object_id',
  'A user.created without an id raises null_value_not_allowed.'
);
select is(
  public.apply_clerk_event('msg_h1', 'organizationInvitation.created', now(), 'orginv_1', '{}'),
  'ignored',
  'An event type the sync does not keep is ignored.'
);
select is(
  (select count(*)::int from clerk_sync.deliveries where svix_id in ('msg_g1', 'msg_g2')),
  0,
  'A refused call leaves no ledger entry.'
);

select * from finish();
rollback;
