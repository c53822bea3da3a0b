-- user.deleted through public.apply_clerk_events(): a tombstone keeps every later event of
-- the user stale; the row goes, or stays erased when an app's foreign key holds it (no
-- action, deferred) or deletes are soft; on delete cascade takes the app's rows along.

begin;
select plan(31);

-- ---------------------------------------------------------------- tombstones

select is(
  tests.deliver('msg_a_created', 'user.created', '2026-01-01 10:00:01+00', 'user_a',
    tests.user_state('ada', '2026-01-01 10:00:00+00')),
  'applied',
  'Seed: user_a.'
);
select is(
  tests.deliver('msg_a_deleted', 'user.deleted', '2026-01-01 12:00:00+00', 'user_a'),
  'applied',
  'A user.deleted for a stored user is applied.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_a'$$,
  'user.deleted removes the row.'
);
select results_eq(
  $$select entity, clerk_id, deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_a'$$,
  $$values ('user', 'user_a', '2026-01-01 12:00:00+00'::timestamptz, 'msg_a_deleted')$$,
  'user.deleted writes a tombstone with the envelope time and svix-id.'
);
select is(
  tests.deliver('msg_a_deleted_again', 'user.deleted', '2026-01-01 12:30:00+00', 'user_a'),
  'stale',
  'A second user.deleted (another svix-id) for a deleted user is stale.'
);
select results_eq(
  $$select deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_a'$$,
  $$values ('2026-01-01 12:00:00+00'::timestamptz, 'msg_a_deleted')$$,
  'A second user.deleted keeps the first tombstone.'
);
select is(
  tests.deliver('msg_a_updated_3', 'user.updated', '2026-01-01 11:59:59+00', 'user_a',
    tests.user_state('ada', '2026-01-01 11:59:58+00')),
  'stale',
  'A user.updated delivered after the user.deleted is stale.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_a'$$,
  'A user.updated delivered after the user.deleted does not bring the row back.'
);
select is(
  tests.deliver('msg_ghost_deleted', 'user.deleted', '2026-01-01 13:00:00+00', 'user_ghost'),
  'applied',
  'A user.deleted for a user never stored is applied.'
);
select results_eq(
  $$select clerk_id, deleted_at, svix_id from clerk_sync.tombstones where clerk_id = 'user_ghost'$$,
  $$values ('user_ghost', '2026-01-01 13:00:00+00'::timestamptz, 'msg_ghost_deleted')$$,
  'A user.deleted for a user never stored writes a tombstone.'
);
select is(
  tests.deliver('msg_ghost_created', 'user.created', '2026-01-01 12:59:00+00', 'user_ghost',
    tests.user_state('ghost', '2026-01-01 12:59:00+00')),
  'stale',
  'A user.created delivered after the user.deleted is stale.'
);
select is_empty(
  $$select 1 from public.users where clerk_id = 'user_ghost' or email = 'ghost@example.com'$$,
  'A user.created delivered after the user.deleted writes no row.'
);

-- ---------------------------------------------------------------- an app's foreign keys

-- An app's tables, referencing the users table as apps do.
create table public.posts (author uuid not null references public.users (id));
create table public.comments (author uuid not null references public.users (id) on delete cascade);
create table public.drafts (
  author uuid references public.users (id) deferrable initially deferred
);

select is(
  tests.deliver('msg_b1', 'user.created', '2026-01-01 10:00:01+00', 'user_bob', tests.user_state('bob')),
  'applied',
  'Seed: user_bob.'
);
insert into public.comments select id from public.users where clerk_id = 'user_bob';
select is(
  tests.deliver('msg_b2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_bob'),
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
  tests.deliver('msg_c1', 'user.created', '2026-01-01 10:00:01+00', 'user_carol', tests.user_state('carol')),
  'applied',
  'Seed: user_carol.'
);
insert into public.posts select id from public.users where clerk_id = 'user_carol';
select is(
  tests.deliver('msg_c2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_carol'),
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
  tests.deliver('msg_c3', 'user.updated', '2026-01-01 12:00:00+00', 'user_carol',
    tests.user_state('carol', '2026-01-01 12:00:00+00')),
  'stale',
  'A later event of the deleted user is stale: the tombstone keeps the person from coming back.'
);
select is(
  tests.deliver('msg_d1', 'user.created', '2026-01-01 12:00:01+00', 'user_dave',
    tests.user_state('dave', '2026-01-01 12:00:00+00', '{"email": "carol@example.com"}')),
  'applied',
  'A new user takes the erased user''s email address.'
);
select is(
  (select email from public.users where clerk_id = 'user_dave'), 'carol@example.com',
  'The freed email is the new user''s.'
);
select is(
  tests.deliver('msg_c2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_carol'),
  'duplicate',
  'A redelivered delete of the kept row is a duplicate.'
);

-- A deferred foreign key is checked at the delete, not at commit.
select is(
  tests.deliver('msg_e1', 'user.created', '2026-01-01 10:00:01+00', 'user_erin', tests.user_state('erin')),
  'applied',
  'Seed: user_erin.'
);
insert into public.drafts select id from public.users where clerk_id = 'user_erin';
select is(
  tests.deliver('msg_e2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_erin'),
  'applied',
  'A user.deleted held by a deferred foreign key is applied.'
);
select is(
  (select deleted_at from public.users where clerk_id = 'user_erin'),
  '2026-01-01 11:00:00+00'::timestamptz,
  'The row held by a deferred foreign key is kept, erased, not left to fail at commit.'
);
set constraints all deferred;

-- ---------------------------------------------------------------- soft deletes

-- Soft deletes for every user, by the database setting.
update clerk_sync.delete_modes set mode = 'soft' where entity = 'user';
select is(
  tests.deliver('msg_f1', 'user.created', '2026-01-01 10:00:01+00', 'user_fay', tests.user_state('fay')),
  'applied',
  'Seed: user_fay.'
);
select is(
  tests.deliver('msg_f2', 'user.deleted', '2026-01-01 11:00:00+00', 'user_fay'),
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

select * from finish();
rollback;
