-- Invitations, roles, permissions and domains: who reads what (an admin, a member whose
-- role may manage members, a plain member, a member of another organization, a user with
-- no membership, anon, service_role), and effective permissions that follow the role: a
-- role edit changes what clerk.is_org_member(…, permission) and clerk.has_permission()
-- answer for existing members, with no membership event.

begin;
select plan(56);

create function pg_temp.times(p_updated_at timestamptz default '2026-01-01 10:00:00+00')
returns jsonb language sql as $$
  select jsonb_build_object('clerk_created_at', '2026-01-01 10:00:00+00', 'clerk_updated_at', p_updated_at);
$$;
create function pg_temp.member(p_org text, p_user text, p_role text, p_permissions text[])
returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'user_id', p_user, 'role', p_role,
    'permissions', to_jsonb(p_permissions), 'public_metadata', '{}'::jsonb) || pg_temp.times();
$$;
create function pg_temp.invitation(p_org text, p_email text) returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'email_address', p_email,
    'role', 'org:member', 'status', 'pending', 'public_metadata', '{}'::jsonb,
    'private_metadata', '{"source": "crm"}'::jsonb, 'expires_at', '2026-01-08 10:00:00+00')
    || pg_temp.times();
$$;
create function pg_temp.domain(p_org text, p_name text) returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'name', p_name,
    'enrollment_mode', 'automatic_invitation', 'verification_status', 'verified') || pg_temp.times();
$$;
create function pg_temp.role(p_key text, p_permissions text[], p_updated_at timestamptz)
returns jsonb language sql as $$
  select jsonb_build_object('key', p_key, 'name', p_key, 'description', null,
    'permissions', to_jsonb(p_permissions)) || pg_temp.times(p_updated_at);
$$;

select is(tests.deliver(d.svix_id, d.type, '2026-01-01 10:00:01+00', d.object_id, d.state), 'applied',
  d.description)
from (values
  ('msg_m1', 'organizationMembership.created', 'orgmem_alice',
    pg_temp.member('org_a', 'user_alice', 'org:admin', array['org:posts:read']),
    'Seed: alice is an admin of org_a.'),
  ('msg_m2', 'organizationMembership.created', 'orgmem_bob',
    pg_temp.member('org_a', 'user_bob', 'org:manager',
      array['org:posts:read', 'org:sys_memberships:manage']),
    'Seed: bob is a manager of org_a, whose role may manage members.'),
  ('msg_m3', 'organizationMembership.created', 'orgmem_carol',
    pg_temp.member('org_a', 'user_carol', 'org:member', array['org:posts:read']),
    'Seed: carol is a plain member of org_a.'),
  ('msg_m4', 'organizationMembership.created', 'orgmem_dave',
    pg_temp.member('org_b', 'user_dave', 'org:admin', array[]::text[]),
    'Seed: dave is an admin of org_b.'),
  ('msg_i1', 'organizationInvitation.created', 'orginv_a', pg_temp.invitation('org_a', 'new@a.test'),
    'Seed: an invitation to org_a.'),
  ('msg_i2', 'organizationInvitation.created', 'orginv_b', pg_temp.invitation('org_b', 'new@b.test'),
    'Seed: an invitation to org_b.'),
  ('msg_d1', 'organizationDomain.created', 'orgdmn_a', pg_temp.domain('org_a', 'a.test'),
    'Seed: a domain of org_a.'),
  ('msg_d2', 'organizationDomain.created', 'orgdmn_b', pg_temp.domain('org_b', 'b.test'),
    'Seed: a domain of org_b.'),
  ('msg_p1', 'permission.created', 'perm_read',
    jsonb_build_object('key', 'org:posts:read', 'name', 'Read posts', 'description', null,
      'type', 'custom') || pg_temp.times(),
    'Seed: a permission.')
) as d(svix_id, type, object_id, state, description);

-- ---------------------------------------------------------------- catalog

select ok(
  (select bool_and(relrowsecurity) from pg_catalog.pg_class where oid in (
    'public.organization_invitations'::regclass, 'public.organization_invitations_private'::regclass,
    'public.organization_roles'::regclass, 'public.organization_permissions'::regclass,
    'public.organization_domains'::regclass)),
  'RLS is enabled on the five new tables.'
);
select table_privs_are('public', t.name, 'anon', array[]::text[],
  format('anon has no privilege on public.%s.', t.name))
from (values ('organization_invitations'), ('organization_invitations_private'),
  ('organization_roles'), ('organization_permissions'), ('organization_domains')) as t(name);
select table_privs_are('public', t.name, 'authenticated', array['SELECT'],
  format('authenticated may only select public.%s.', t.name))
from (values ('organization_invitations'), ('organization_roles'), ('organization_permissions'),
  ('organization_domains')) as t(name);
select table_privs_are('public', 'organization_invitations_private', 'authenticated',
  array[]::text[], 'authenticated has no privilege on public.organization_invitations_private.');

-- ---------------------------------------------------------------- who reads what

select tests.authenticate_as('user_alice', '{"v": 2, "o": {"id": "org_a", "rol": "admin"}}');
select results_eq($$select clerk_id from public.organization_invitations$$, $$values ('orginv_a')$$,
  'An admin reads its organization''s invitations, and no other.');
select results_eq($$select clerk_id from public.organization_domains$$, $$values ('orgdmn_a')$$,
  'A member reads its organization''s domains, and no other.');
select results_eq($$select clerk_id from public.organization_permissions$$, $$values ('perm_read')$$,
  'A signed-in user reads the permissions.');
select throws_ok($$select * from public.organization_invitations_private$$, '42501', null,
  'An admin cannot read the invitations'' private metadata.');
reset role;

select tests.authenticate_as('user_bob');
select results_eq($$select clerk_id from public.organization_invitations$$, $$values ('orginv_a')$$,
  'A member whose role may manage members (org:sys_memberships:manage) reads the invitations.');
reset role;

select tests.authenticate_as('user_carol');
select is_empty($$select 1 from public.organization_invitations$$,
  'A plain member reads no invitation.');
select results_eq($$select clerk_id from public.organization_domains$$, $$values ('orgdmn_a')$$,
  'A plain member reads its organization''s domains.');
reset role;

select tests.authenticate_as('user_dave');
select results_eq($$select clerk_id from public.organization_invitations$$, $$values ('orginv_b')$$,
  'The admin of another organization reads that one''s invitations only.');
select results_eq($$select clerk_id from public.organization_domains$$, $$values ('orgdmn_b')$$,
  'and its domains only.');
reset role;

select tests.authenticate_as('user_erin');
select is_empty($$select 1 from public.organization_invitations union all select 1 from public.organization_domains$$,
  'A user with no membership reads no invitation and no domain.');
select results_eq($$select clerk_id from public.organization_permissions$$, $$values ('perm_read')$$,
  'but reads the permissions,');
select is_empty($$select 1 from public.organization_roles where false$$,
  'and may select the roles (none yet).');
reset role;

select tests.refused('anon', format('select * from public.%s', t.name), '42501',
  format('anon cannot read public.%s.', t.name))
from (values ('organization_invitations'), ('organization_invitations_private'),
  ('organization_roles'), ('organization_permissions'), ('organization_domains')) as t(name);
select tests.refused('user_alice',
  $$insert into public.organization_roles (clerk_id, key, name, clerk_created_at, clerk_updated_at,
      clerk_event_at, svix_id) values ('role_x', 'org:member', 'x', now(), now(), now(), 'msg_x')$$,
  '42501', 'A signed-in user cannot write a role (to grant itself a permission).');

select tests.authenticate_as_service_role();
select results_eq(
  $$select clerk_id, private_metadata from public.organization_invitations_private order by 1$$,
  $$values ('orginv_a', '{"source": "crm"}'::jsonb), ('orginv_b', '{"source": "crm"}'::jsonb)$$,
  'service_role reads every invitation''s private metadata.');
reset role;

-- ---------------------------------------------------------------- effective permissions

select tests.authenticate_as('user_carol', '{"v": 2, "o": {"id": "org_a", "rol": "member"}}');
select ok(clerk.is_org_member('org_a', null, 'org:posts:read'),
  'Before its role is synced, a member has the permissions of its membership''s list.');
select ok(not clerk.has_permission('org:posts:write'), 'and not others.');
reset role;

select is(tests.deliver('msg_r1', 'role.created', '2026-01-02 10:00:01+00', 'role_member',
  pg_temp.role('org:member', array['org:posts:read'], '2026-01-02 10:00:00+00')), 'applied',
  'role.created for org:member, with the permissions the membership lists.');
select is(tests.deliver('msg_r2', 'role.updated', '2026-01-03 10:00:01+00', 'role_member',
  pg_temp.role('org:member', array['org:posts:write'], '2026-01-03 10:00:00+00')), 'applied',
  'An admin edits org:member in the dashboard: posts:read out, posts:write in.');

select tests.authenticate_as('user_carol', '{"v": 2, "o": {"id": "org_a", "rol": "member"}}');
select ok(clerk.is_org_member('org_a', null, 'org:posts:write'),
  'The role edit grants the existing member the new permission, with no membership event.');
select ok(not clerk.is_org_member('org_a', null, 'org:posts:read'),
  'and takes the removed one away, although the membership''s list still has it.');
select ok(clerk.has_permission('org:posts:write'),
  'clerk.has_permission() reads it for the token''s active organization.');
select ok(not clerk.has_permission('org:posts:read'), 'clerk.has_permission() drops the removed one.');
select is(
  (select permissions from public.organization_memberships where clerk_id = 'orgmem_carol'),
  array['org:posts:read'], 'The membership row itself is unchanged.');
reset role;

select tests.authenticate_as('user_carol', '{"v": 2, "o": {"id": "org_b", "rol": "member"}}');
select ok(not clerk.has_permission('org:posts:write'),
  'clerk.has_permission() answers false in an organization the user is not a member of.');
reset role;
select tests.authenticate_as('user_carol');
select ok(not clerk.has_permission('org:posts:write'),
  'and false without an active organization.');
reset role;

select is(tests.deliver('msg_r3', 'role.created', '2026-01-02 10:00:01+00', 'role_manager',
  pg_temp.role('org:manager', array['org:posts:read'], '2026-01-02 10:00:00+00')), 'applied',
  'role.created for org:manager, listing no system permission.');
select tests.authenticate_as('user_erin');
select results_eq($$select clerk_id, key, permissions from public.organization_roles order by 1$$,
  $$values ('role_manager', 'org:manager', array['org:posts:read']),
    ('role_member', 'org:member', array['org:posts:write'])$$,
  'Every signed-in user reads the roles and what they grant, member or not.');
reset role;
select tests.authenticate_as('user_bob');
select ok(clerk.is_org_member('org_a', null, 'org:sys_memberships:manage'),
  'System permissions (org:sys_*) stay as the membership carries them.');
select results_eq($$select clerk_id from public.organization_invitations$$, $$values ('orginv_a')$$,
  'so the manager still reads the invitations.');
reset role;

select is(tests.deliver('msg_r4', 'role.deleted', '2026-01-04 10:00:00+00', 'role_member', null),
  'applied', 'role.deleted for org:member.');
select tests.authenticate_as('user_carol');
select ok(clerk.is_org_member('org_a', null, 'org:posts:read')
    and not clerk.is_org_member('org_a', null, 'org:posts:write'),
  'Once the role is gone, the membership''s own list answers again.');
reset role;

select * from finish();
rollback;
