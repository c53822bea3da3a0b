-- clerk_sync.prune_deliveries(): the ledger forgets entries older than its window (30 days
-- by default, never under Svix's 27.6 hours of retries) and keeps the tombstones, so a
-- replay of a forgotten delivery of a deleted user is still stale.

begin;
select plan(11);

select is(
  public.apply_clerk_events(jsonb_build_array(
    tests.delivery('msg_a_created', 'user.created', '2026-01-01 10:00:01+00', 'user_a',
      tests.user_state('ada', '2026-01-01 10:00:00+00')),
    tests.delivery('msg_a_updated', 'user.updated', '2026-01-01 10:05:01+00', 'user_a',
      tests.user_state('ada', '2026-01-01 10:05:00+00')),
    tests.delivery('msg_a_deleted', 'user.deleted', '2026-01-01 12:00:00+00', 'user_a'),
    tests.delivery('msg_ghost_deleted', 'user.deleted', '2026-01-01 13:00:00+00', 'user_ghost'),
    tests.delivery('msg_session', 'session.created', '2026-01-01 16:00:00+00', 'user_b'),
    tests.delivery('msg_b_created', 'user.created', '2026-01-01 17:00:01+00', 'user_b',
      tests.user_state('grace', '2026-01-01 17:00:00+00'))
  )),
  array['applied', 'applied', 'applied', 'applied', 'ignored', 'applied'],
  'Seed: six deliveries, the created, updated and deleted user_a''s among them.'
);

update clerk_sync.deliveries set received_at = now() - interval '31 days'
where svix_id in ('msg_a_created', 'msg_a_deleted', 'msg_ghost_deleted', 'msg_session');
update clerk_sync.deliveries set received_at = now() - interval '29 days'
where svix_id = 'msg_a_updated';

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
select results_eq(
  $$select svix_id from clerk_sync.deliveries order by svix_id$$,
  $$values ('msg_a_updated'), ('msg_b_created')$$,
  'Entries younger than 30 days, one of them 29 days old, are kept.'
);
select results_eq(
  $$select clerk_id, svix_id from clerk_sync.tombstones order by clerk_id$$,
  $$values ('user_a', 'msg_a_deleted'), ('user_ghost', 'msg_ghost_deleted')$$,
  'Pruning keeps the tombstones, even those whose user.deleted entry was pruned.'
);
select is(
  tests.deliver('msg_a_created', 'user.created', '2026-01-01 10:00:01+00', 'user_a',
    tests.user_state('ada', '2026-01-01 10:00:00+00')),
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
  3::bigint,
  'A refused prune deletes nothing.'
);
select is(
  clerk_sync.prune_deliveries(),
  0::bigint,
  'prune_deliveries() with its default window deletes nothing younger than 30 days.'
);
select is(
  (select count(*) from clerk_sync.deliveries),
  3::bigint,
  'The ledger still holds every young entry after pruning with the default window.'
);

select * from finish();
rollback;
