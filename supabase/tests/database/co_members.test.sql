-- Co-members: what members of an organization read of each other (the public data Clerk
-- shows them: user_first_name, user_last_name, user_image_url, user_identifier on the
-- memberships), and nothing more: no user row, no private metadata, nothing of a
-- membership in an organization they are not in. Alice and Bob share org_a (with Dave,
-- whom the sync knows only from his membership), Alice and Carol share org_c, Carol alone
-- is in org_b.

begin;
select plan(22);

create function pg_temp.member(p_org text, p_user text, p_updated_at timestamptz,
  p_fields jsonb default '{}')
returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'user_id', p_user, 'role', 'org:member',
    'permissions', '[]'::jsonb, 'public_metadata', '{}'::jsonb,
    'private_metadata', '{"seat": "paid"}'::jsonb,
    'clerk_created_at', '2026-01-01 10:00:00+00', 'clerk_updated_at', p_updated_at) || p_fields;
$$;

select is(tests.deliver(d.svix_id, d.type, '2026-01-01 10:00:01+00', d.object_id, d.state), 'applied',
  d.description)
from (values
  ('msg_01', 'user.created', 'user_alice', tests.user_state('alice'), 'Seed: alice.'),
  ('msg_02', 'user.created', 'user_bob', tests.user_state('bob'), 'Seed: bob.'),
  ('msg_03', 'user.created', 'user_carol', tests.user_state('carol'), 'Seed: carol.'),
  ('msg_04', 'organizationMembership.created', 'orgmem_a_alice',
    pg_temp.member('org_a', 'user_alice', '2026-01-01 10:00:00+00'), 'Seed: alice is in org_a.'),
  ('msg_05', 'organizationMembership.created', 'orgmem_a_bob',
    pg_temp.member('org_a', 'user_bob', '2026-01-01 10:00:00+00'), 'Seed: bob is in org_a.'),
  ('msg_06', 'organizationMembership.created', 'orgmem_b_carol',
    pg_temp.member('org_b', 'user_carol', '2026-01-01 10:00:00+00'), 'Seed: carol is in org_b.'),
  ('msg_07', 'organizationMembership.created', 'orgmem_c_alice',
    pg_temp.member('org_c', 'user_alice', '2026-01-01 10:00:00+00'), 'Seed: alice is in org_c.'),
  ('msg_08', 'organizationMembership.created', 'orgmem_c_carol',
    pg_temp.member('org_c', 'user_carol', '2026-01-01 10:00:00+00'), 'Seed: carol is in org_c.')
) as d(svix_id, type, object_id, state, description);

select is(
  tests.deliver('msg_09', 'organizationMembership.created', '2026-01-01 10:00:01+00',
    'orgmem_a_dave', pg_temp.member('org_a', 'user_dave', '2026-01-01 10:00:00+00',
      '{"user_first_name": "Dave", "user_last_name": "Example", "user_image_url": "https://img.clerk.com/dave", "user_identifier": "dave@example.com"}')),
  'applied',
  'Seed: dave joins org_a; the sync has no row of his, only his membership''s public data.'
);

-- ---------------------------------------------------------------- alice

select tests.authenticate_as('user_alice', '{"v": 2, "o": {"id": "org_a", "rol": "member"}}');

select results_eq(
  $$select organization_id, user_id, user_first_name, user_last_name, user_image_url, user_identifier
    from public.organization_memberships order by 1, 2$$,
  $$values
    ('org_a', 'user_alice', 'Alice', 'Example', 'https://img.clerk.com/alice', 'alice@example.com'),
    ('org_a', 'user_bob', 'Bob', 'Example', 'https://img.clerk.com/bob', 'bob@example.com'),
    ('org_a', 'user_dave', 'Dave', 'Example', 'https://img.clerk.com/dave', 'dave@example.com'),
    ('org_c', 'user_alice', 'Alice', 'Example', 'https://img.clerk.com/alice', 'alice@example.com'),
    ('org_c', 'user_carol', 'Carol', 'Example', 'https://img.clerk.com/carol', 'carol@example.com')$$,
  'A member reads its co-members'' public data in each organization they share, the active one or not.'
);
select is_empty(
  $$select 1 from public.organization_memberships where organization_id = 'org_b'$$,
  'Nothing of a membership of an organization it is not in, even of a co-member elsewhere (carol in org_b).'
);
select results_eq(
  $$select clerk_id from public.users$$, $$values ('user_alice')$$,
  'Co-members'' own rows of public.users (email, phone, metadata) stay theirs: a member reads only its own.'
);
reset role;

select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('user_alice', $$select * from public.organization_memberships_private$$,
    'A co-member cannot read the memberships'' private metadata.'),
  ('user_alice', $$select * from public.users_private$$,
    'A co-member cannot read the users'' private metadata.'),
  ('user_alice', $$update public.organization_memberships set user_first_name = 'Eve' where user_id = 'user_bob'$$,
    'A co-member cannot change another''s public data.')
) as r(who, statement, description);

-- ---------------------------------------------------------------- bob, carol

select tests.authenticate_as('user_bob');
select results_eq(
  $$select user_id from public.organization_memberships order by 1$$,
  $$values ('user_alice'), ('user_bob'), ('user_dave')$$,
  'bob reads org_a''s members only.'
);
select is_empty(
  $$select 1 from public.organization_memberships where user_first_name = 'Carol'$$,
  'bob, no co-member of carol, reads nothing of her.'
);
reset role;

select tests.authenticate_as('user_carol');
select results_eq(
  $$select organization_id, user_id from public.organization_memberships order by 1, 2$$,
  $$values ('org_b', 'user_carol'), ('org_c', 'user_alice'), ('org_c', 'user_carol')$$,
  'carol reads org_b''s and org_c''s members, and not org_a''s.'
);
reset role;

-- ---------------------------------------------------------------- changes

select is(
  tests.deliver('msg_10', 'user.updated', '2026-01-01 11:00:01+00', 'user_bob',
    tests.user_state('bob', '2026-01-01 11:00:00+00', '{"first_name": "Robert"}')),
  'applied', 'bob changes his first name.');
select tests.authenticate_as('user_alice');
select results_eq(
  $$select user_first_name from public.organization_memberships where user_id = 'user_bob'$$,
  $$values ('Robert')$$,
  'His co-members read the new name at once, from his synced row.'
);
reset role;

select is(
  tests.deliver('msg_11', 'organizationMembership.deleted', '2026-01-01 11:00:01+00',
    'orgmem_a_bob', pg_temp.member('org_a', 'user_bob', '2026-01-01 10:00:00+00')),
  'applied', 'bob leaves org_a.');
select tests.authenticate_as('user_bob');
select is_empty(
  $$select 1 from public.organization_memberships$$,
  'Once he has left, bob reads nothing of his former co-members.'
);
reset role;

select * from finish();
rollback;
