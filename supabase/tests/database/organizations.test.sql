-- Organizations and memberships: who reads what (a member, a co-member, a non-member,
-- anon, service_role), the policy helpers with v2 and v1 session tokens, and an app's
-- own policy built on them.

begin;
select plan(35);

create function pg_temp.org(p_id text, p_slug text) returns jsonb language sql as $$
  select jsonb_build_object('name', 'Org ' || p_id, 'slug', p_slug, 'public_metadata', '{}'::jsonb,
    'private_metadata', '{"plan": "pro"}'::jsonb,
    'clerk_created_at', '2026-01-01 10:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00');
$$;
create function pg_temp.member(p_org text, p_user text, p_role text, p_permissions text[])
returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'user_id', p_user, 'role', p_role,
    'permissions', to_jsonb(p_permissions), 'public_metadata', '{}'::jsonb,
    'clerk_created_at', '2026-01-01 10:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00');
$$;

select is(tests.deliver(d.svix_id, d.type, '2026-01-01 10:00:01+00', d.object_id, d.state), 'applied',
  d.description)
from (values
  ('msg_o1', 'organization.created', 'org_a', pg_temp.org('org_a', 'a'), 'Seed: org_a.'),
  ('msg_o2', 'organization.created', 'org_b', pg_temp.org('org_b', 'b'), 'Seed: org_b.'),
  ('msg_m1', 'organizationMembership.created', 'orgmem_alice_a',
    pg_temp.member('org_a', 'user_alice', 'org:admin', array['org:posts:write']),
    'Seed: alice is an admin of org_a.'),
  ('msg_m2', 'organizationMembership.created', 'orgmem_bob_a',
    pg_temp.member('org_a', 'user_bob', 'org:member', array['org:posts:read']),
    'Seed: bob is a member of org_a.'),
  ('msg_m3', 'organizationMembership.created', 'orgmem_carol_b',
    pg_temp.member('org_b', 'user_carol', 'org:member', array[]::text[]),
    'Seed: carol is a member of org_b.')
) as d(svix_id, type, object_id, state, description);

-- An app's table, protected by membership with the helpers.
create table public.projects (id int primary key, organization_id text not null);
alter table public.projects enable row level security;
grant select, insert on public.projects to authenticated;
create policy "members read their organizations' projects" on public.projects
for select to authenticated
using (organization_id = any ((select clerk.org_ids())::text[]));
create policy "admins of the active organization manage its projects" on public.projects
for all to authenticated
using (organization_id = (select clerk.org_id()) and (select clerk.is_org_member(clerk.org_id(), 'admin')))
with check (organization_id = (select clerk.org_id()) and (select clerk.is_org_member(clerk.org_id(), 'admin')));
insert into public.projects values (1, 'org_a'), (2, 'org_b');

-- ---------------------------------------------------------------- catalog

select ok(
  (select bool_and(relrowsecurity) from pg_catalog.pg_class where oid in (
    'public.organizations'::regclass, 'public.organization_memberships'::regclass,
    'public.organizations_private'::regclass, 'public.organization_memberships_private'::regclass)),
  'RLS is enabled on the four organization tables.'
);
select table_privs_are('public', 'organizations', 'authenticated', array['SELECT'],
  'authenticated may only select public.organizations.');
select table_privs_are('public', 'organizations', 'anon', array[]::text[],
  'anon has no privilege on public.organizations.');
select table_privs_are('public', 'organizations_private', 'authenticated', array[]::text[],
  'authenticated has no privilege on public.organizations_private.');
select table_privs_are('public', 'organization_memberships_private', 'authenticated', array[]::text[],
  'authenticated has no privilege on public.organization_memberships_private.');
select ok(
  (select 'search_path=""' = any(proconfig) and prosecdef from pg_catalog.pg_proc
    where oid = 'clerk.org_ids()'::regprocedure),
  'clerk.org_ids() is security definer with an empty search_path.'
);

-- ---------------------------------------------------------------- alice, v2 token, org_a active

select tests.authenticate_as('user_alice', '{"v": 2, "o": {"id": "org_a", "rol": "admin", "slg": "a"}}');

select results_eq($$select clerk_id from public.organizations order by 1$$,
  $$values ('org_a')$$, 'A member reads the organizations it belongs to, and no other.');
select results_eq($$select user_id from public.organization_memberships order by 1$$,
  $$values ('user_alice'), ('user_bob')$$,
  'A member reads the memberships of its organizations (its co-members), and no other.');
select is(clerk.org_id(), 'org_a', 'clerk.org_id() reads o.id from a v2 token.');
select ok(clerk.is_org_member('org_a'), 'clerk.is_org_member() knows a member.');
select ok(not clerk.is_org_member('org_b'), 'clerk.is_org_member() refuses a non-member.');
select ok(clerk.is_org_member('org_a', 'admin'), 'A v2 role (admin, no prefix) matches org:admin.');
select ok(clerk.is_org_member('org_a', 'org:admin'), 'A v1 role (org:admin) matches too.');
select ok(not clerk.is_org_member('org_a', 'member'), 'Another role does not match.');
select ok(clerk.is_org_member('org_a', null, 'org:posts:write'), 'A permission of the role matches.');
select ok(not clerk.is_org_member('org_a', null, 'org:posts:delete'), 'A permission it lacks does not.');
select results_eq($$select id from public.projects$$, $$values (1)$$,
  'An app''s policy built on clerk.org_ids() shows the member its organizations'' rows only.');
select lives_ok($$insert into public.projects values (3, 'org_a')$$,
  'An admin of the active organization creates a project in it (the README''s policy).');
select throws_ok($$insert into public.projects values (4, 'org_b')$$, '42501', null,
  'Not in another organization.');
select throws_ok($$select * from public.organizations_private$$, '42501', null,
  'A member cannot read the organizations'' private metadata.');
select throws_ok(
  $$insert into public.organization_memberships (clerk_id, organization_id, user_id, role,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('orgmem_x', 'org_b', 'user_alice', 'org:admin', now(), now(), now(), 'msg_x')$$,
  '42501', null, 'A member cannot write a membership (to join another organization).');
reset role;

-- ---------------------------------------------------------------- carol, v1 token

select tests.authenticate_as('user_carol', '{"org_id": "org_b", "org_role": "org:member"}');
select is(clerk.org_id(), 'org_b', 'clerk.org_id() reads org_id from a v1 token.');
select results_eq($$select user_id from public.organization_memberships$$, $$values ('user_carol')$$,
  'carol reads her own organization''s memberships only.');
select throws_ok($$insert into public.projects values (5, 'org_b')$$, '42501', null,
  'A plain member of the active organization cannot create a project.');
reset role;

-- ---------------------------------------------------------------- dave, no membership; anon

select tests.authenticate_as('user_dave');
select is_empty($$select 1 from public.organizations union all select 1 from public.organization_memberships$$,
  'A user with no membership reads no organization and no membership.');
select is(clerk.org_id(), null, 'clerk.org_id() is null without an active organization.');
reset role;

select tests.refused(r.who, r.statement, '42501', r.description)
from (values
  ('anon', $$select * from public.organizations$$, 'anon cannot read public.organizations.'),
  ('anon', $$select * from public.organization_memberships$$,
    'anon cannot read public.organization_memberships.'),
  ('user_dave', $$select * from public.organization_memberships_private$$,
    'authenticated cannot read the memberships'' private metadata.')
) as r(who, statement, description);

select tests.authenticate_as_service_role();
select results_eq($$select clerk_id, private_metadata from public.organizations_private order by 1$$,
  $$values ('org_a', '{"plan": "pro"}'::jsonb), ('org_b', '{"plan": "pro"}'::jsonb)$$,
  'service_role reads every organization''s private metadata.');
reset role;

select * from finish();
rollback;
