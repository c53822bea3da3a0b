-- The organization side of Clerk (issue 20): invitations, roles, permissions and domains,
-- each with the guarantees of users and organizations (ledger, newest state by Clerk's
-- updated_at, the envelope time for deletes, tombstones, cascades from the organization,
-- private metadata for service_role only, RLS, comments). The sections below are the
-- schema files 41_roles.sql to 44_domains.sql as they are, then what changes elsewhere.
--
--   * public.organization_roles (lock class 7) and public.organization_permissions
--     (class 8): instance-wide, readable by every signed-in user.
--   * public.organization_invitations (class 5) and its _private table: readable by the
--     members who may manage members (org:sys_memberships:manage, or admin); Clerk sends
--     no delete and no .expired (expires_at says it); they go with their organization.
--   * public.organization_domains (class 9): readable by the organization's members; they
--     go with their organization.
--   * Effective permissions follow the role: clerk.is_org_member(org, role, permission)
--     reads the role's current permissions once the role is synced (the membership's own
--     list otherwise; system permissions org:sys_* as the membership carries them), and
--     the new clerk.has_permission(permission) asks it for the token's active
--     organization.
--   * public.clerk_sync_status() counts the rows of every synced table (npm run status).
--   * clerk_sync.dispatch() and clerk_sync.lock_batch() know the four entities; lock
--     classes run 1 to 13 (10 to 13 reserved); the schema version is 20261205100000.

-- ================================================================ comments

comment on column clerk_sync.tombstones.entity is 'Which kind of Clerk object: user, organization, membership, invitation, role, permission or domain.';

comment on column public.organization_memberships.permissions is 'Permission keys the role granted as of the membership''s last event (org:posts:read, …, with system permissions org:sys_*). Once the role is synced in public.organization_roles, clerk.is_org_member() and clerk.has_permission() read the role''s current permissions instead, with the system permissions of this list.';

-- ================================================================ roles

-- Clerk organization roles, instance-wide: their keys, names and current permissions. A
-- member's effective permissions follow its role: once the role is synced, its current
-- permissions (role.updated takes effect for every member at once; Clerk sends no
-- membership event then), else the membership's own list; system permissions (org:sys_*)
-- as the membership carries them. clerk.is_org_member() and clerk.has_permission() read
-- them that way.

create table public.organization_roles (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  key text not null,
  name text not null,
  description text,
  permissions text[] not null default '{}',
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_roles_key_idx on public.organization_roles (key);

comment on table public.organization_roles is
  'Clerk organization roles of the instance, kept in sync by the clerk-webhook Edge Function: what each role may do now. Readable by every signed-in user. Written by public.apply_clerk_events() only.';

comment on column public.organization_roles.id is 'Row id, generated here.';

comment on column public.organization_roles.clerk_id is 'Clerk role id (role_…).';

comment on column public.organization_roles.key is 'Role key with the org: prefix (org:admin, org:member, org:…), as public.organization_memberships.role holds it; a key Clerk sends without the prefix is stored with it.';

comment on column public.organization_roles.name is 'The role''s display name (Admin).';

comment on column public.organization_roles.description is 'The role''s description, or null.';

comment on column public.organization_roles.permissions is 'Keys of the permissions the role grants now (org:posts:read, …): the effective permissions of its members, with their system permissions.';

comment on column public.organization_roles.clerk_created_at is 'When Clerk created the role.';

comment on column public.organization_roles.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_roles.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_roles.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_roles.created_at is 'When this row was first written.';

comment on column public.organization_roles.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_roles_touch_updated_at
before update on public.organization_roles
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.role_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- The roles (class 7): a role depends on no other object.
  if p_class = 7 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('role.created', 'role.updated', 'role.deleted')
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.role_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (7 roles) that the role events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_role(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text,
  p_state jsonb
)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_found record;
  v_stored public.organization_roles;
  v_row public.organization_roles;
begin
  -- Its locks are held: clerk_sync.role_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('role.created', 'role.updated', 'role.deleted') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'role.deleted' then
    -- No updated_at: ordered by the envelope timestamp, as every delete.
    if not clerk_sync.tombstone('role', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    delete from public.organization_roles where clerk_id = p_clerk_id;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or p_state ->> 'key' is null
    or p_state ->> 'name' is null
  then
    raise exception '% needs key, name, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- The tombstone and the stored row in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t where t.entity = 'role' and t.clerk_id = p_clerk_id
    ) as gone,
    (select r from public.organization_roles r where r.clerk_id = p_clerk_id) as stored
  into v_found;
  v_stored := v_found.stored;
  if v_found.gone or v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;
  v_row.permissions := coalesce(v_row.permissions, '{}');

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_roles select v_row.*;
  else
    update public.organization_roles r set (
      key, name, description, permissions, clerk_created_at, clerk_updated_at, clerk_event_at,
      svix_id
    ) = (
      v_row.key, v_row.name, v_row.description, v_row.permissions, v_row.clerk_created_at,
      v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where r.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_role(text, text, timestamptz, text, jsonb) is
  'Applies a role.created, .updated or .deleted to public.organization_roles; returns applied or stale, or ignored for other role.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

create or replace function clerk.is_org_member(
  p_organization_id text,
  p_role text default null,
  p_permission text default null
)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.organization_memberships m
    where m.organization_id = p_organization_id
      and m.user_id = (select auth.jwt()) ->> 'sub'
      and (p_role is null
        or m.role = case when p_role like 'org:%' then p_role else 'org:' || p_role end)
      and (p_permission is null or p_permission = any (coalesce(
        -- The role's current permissions once it is synced (the newest role of the key),
        -- with the system permissions the membership carries; else the membership's own.
        (select r.permissions
            || array(select p from unnest(m.permissions) p where p like 'org:sys\_%')
          from public.organization_roles r
          where r.key = m.role
          order by r.clerk_updated_at desc, r.clerk_id collate "C"
          limit 1),
        m.permissions
      )))
  );
$$;

comment on function clerk.is_org_member(text, text, text) is
  'Whether the signed-in user is a member of the organization, optionally with a role (admin or org:admin, as v2 and v1 tokens write it) and a permission (org:posts:write), from the synced memberships. The permission is the role''s current one once the role is synced (public.organization_roles), else the membership''s; system permissions (org:sys_*) as the membership carries them. In policies: (select clerk.is_org_member((select clerk.org_id()), ''admin'')) runs once per statement; with a column argument it runs per row.';

create function clerk.has_permission(p_permission text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select clerk.is_org_member(clerk.org_id(), null, p_permission);
$$;

comment on function clerk.has_permission(text) is
  'Whether the signed-in user has the permission (org:posts:write) in the organization active in its session token (v2 o.id, v1 org_id), read from the synced memberships and roles as clerk.is_org_member() reads them, not from the token''s o.per. In policies: (select clerk.has_permission(''org:posts:write'')) runs once per statement.';

revoke all on all functions in schema clerk from public;
grant execute on all functions in schema clerk to anon, authenticated, service_role;

alter table public.organization_roles enable row level security;
revoke all on table public.organization_roles from public, anon, authenticated, service_role;
grant select on table public.organization_roles to service_role, authenticated;

create policy "signed-in users read the roles" on public.organization_roles
for select to authenticated
using (true);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

-- ================================================================ permissions

-- Clerk organization permissions, instance-wide: each permission's key, name, description
-- and type (custom or system), for apps that list what a role may grant.

create table public.organization_permissions (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  key text not null,
  name text not null,
  description text,
  type text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_permissions_key_idx on public.organization_permissions (key);

comment on table public.organization_permissions is
  'Clerk organization permissions of the instance, kept in sync by the clerk-webhook Edge Function. Readable by every signed-in user. Written by public.apply_clerk_events() only.';

comment on column public.organization_permissions.id is 'Row id, generated here.';

comment on column public.organization_permissions.clerk_id is 'Clerk permission id (perm_…).';

comment on column public.organization_permissions.key is 'Permission key (org:posts:write; system ones org:sys_…), as public.organization_roles.permissions and the memberships name it.';

comment on column public.organization_permissions.name is 'The permission''s display name.';

comment on column public.organization_permissions.description is 'The permission''s description, or null.';

comment on column public.organization_permissions.type is 'custom or system, as Clerk says it.';

comment on column public.organization_permissions.clerk_created_at is 'When Clerk created the permission.';

comment on column public.organization_permissions.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_permissions.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_permissions.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_permissions.created_at is 'When this row was first written.';

comment on column public.organization_permissions.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_permissions_touch_updated_at
before update on public.organization_permissions
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.permission_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- The permissions (class 8): a permission depends on no other object.
  if p_class = 8 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('permission.created', 'permission.updated', 'permission.deleted')
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.permission_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (8 permissions) that the permission events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_permission(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text,
  p_state jsonb
)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_found record;
  v_stored public.organization_permissions;
  v_row public.organization_permissions;
begin
  -- Its locks are held: clerk_sync.permission_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('permission.created', 'permission.updated', 'permission.deleted') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'permission.deleted' then
    -- No updated_at: ordered by the envelope timestamp, as every delete.
    if not clerk_sync.tombstone('permission', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    delete from public.organization_permissions where clerk_id = p_clerk_id;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or p_state ->> 'key' is null
    or p_state ->> 'name' is null
  then
    raise exception '% needs key, name, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- The tombstone and the stored row in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where t.entity = 'permission' and t.clerk_id = p_clerk_id
    ) as gone,
    (select p from public.organization_permissions p where p.clerk_id = p_clerk_id) as stored
  into v_found;
  v_stored := v_found.stored;
  if v_found.gone or v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_permissions select v_row.*;
  else
    update public.organization_permissions p set (
      key, name, description, type, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.key, v_row.name, v_row.description, v_row.type, v_row.clerk_created_at,
      v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where p.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_permission(text, text, timestamptz, text, jsonb) is
  'Applies a permission.created, .updated or .deleted to public.organization_permissions; returns applied or stale, or ignored for other permission.* events. Called through clerk_sync.dispatch() only.';

alter table public.organization_permissions enable row level security;
revoke all on table public.organization_permissions from public, anon, authenticated, service_role;
grant select on table public.organization_permissions to service_role, authenticated;

create policy "signed-in users read the permissions" on public.organization_permissions
for select to authenticated
using (true);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

-- ================================================================ invitations

-- Clerk organization invitations: who is invited to which organization, with which role,
-- and whether the invitation is still open. Clerk sends no delete and no .expired event:
-- expires_at says when a pending invitation lapses; organization.deleted takes its
-- invitations along. Readable by the members who may manage members.

create table public.organization_invitations (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  organization_id text not null,
  email_address text not null,
  role text not null,
  role_name text,
  status text not null,
  user_id text,
  public_metadata jsonb not null default '{}',
  expires_at timestamptz,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_invitations_organization_id_idx
on public.organization_invitations (organization_id);

comment on table public.organization_invitations is
  'Clerk organization invitations, kept in sync by the clerk-webhook Edge Function. Readable by the members of the organization whose role may manage members (org:sys_memberships:manage, or admin). No foreign keys: an invitation may arrive before its organization. The invitation''s url (it holds the acceptance ticket) is not kept. Written by public.apply_clerk_events() only.';

comment on column public.organization_invitations.id is 'Row id, generated here.';

comment on column public.organization_invitations.clerk_id is 'Clerk invitation id (orginv_…).';

comment on column public.organization_invitations.organization_id is 'Clerk organization id (org_…): joins public.organizations.clerk_id.';

comment on column public.organization_invitations.email_address is 'The invited email address.';

comment on column public.organization_invitations.role is 'Role key the invitee gets, with the org: prefix (org:member).';

comment on column public.organization_invitations.role_name is 'The role''s display name (Member).';

comment on column public.organization_invitations.status is 'pending, accepted or revoked as Clerk last sent it (Clerk sends no event when an invitation expires: a pending one is expired once expires_at has passed).';

comment on column public.organization_invitations.user_id is 'Clerk user id of the invitee once accepted; else null.';

comment on column public.organization_invitations.public_metadata is 'Clerk public_metadata of the invitation; {} when empty.';

comment on column public.organization_invitations.expires_at is 'When the invitation lapses, or null; a pending invitation past it is expired.';

comment on column public.organization_invitations.clerk_created_at is 'When Clerk created the invitation.';

comment on column public.organization_invitations.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_invitations.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_invitations.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_invitations.created_at is 'When this row was first written.';

comment on column public.organization_invitations.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_invitations_touch_updated_at
before update on public.organization_invitations
for each row execute function clerk_sync.touch_updated_at();

create table public.organization_invitations_private (
  clerk_id text primary key references public.organization_invitations (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.organization_invitations_private is
  'Clerk private_metadata of each invitation: for the app''s server only (service_role).';

comment on column public.organization_invitations_private.clerk_id is 'Clerk invitation id.';

comment on column public.organization_invitations_private.private_metadata is 'Clerk private_metadata; {} when empty.';

-- An invitation goes with its organization.
insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'invitation', 'public.organization_invitations', 'organization_id')
on conflict do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.invitation_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- An invitation's state takes its organization (class 4), which serializes it with the
  -- organization's delete; then the invitations (class 5).
  if p_class = 4 then
    return array(
      select hashtext(b.state ->> 'organization_id') from unnest(p_batch) b
      where b.type like 'organizationInvitation.%' and b.state ->> 'organization_id' is not null
    );
  elsif p_class = 5 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'organizationInvitation.created', 'organizationInvitation.accepted',
        'organizationInvitation.revoked'
      )
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.invitation_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (4 organizations, 5 invitations) that the invitation events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_invitation(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text,
  p_state jsonb
)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_org text := p_state ->> 'organization_id';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_found record;
  v_stored public.organization_invitations;
  v_row public.organization_invitations;
begin
  -- Its locks are held: clerk_sync.invitation_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'organizationInvitation.created', 'organizationInvitation.accepted',
    'organizationInvitation.revoked'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or v_org is null
    or p_state ->> 'email_address' is null or p_state ->> 'role' is null
    or p_state ->> 'status' is null
  then
    raise exception '% needs organization_id, email_address, role, status, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- Gone with its organization: late events are stale. The tombstones and the stored row
  -- in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where (t.entity, t.clerk_id) in (('invitation', p_clerk_id), ('organization', v_org))
    ) as gone,
    (select i from public.organization_invitations i where i.clerk_id = p_clerk_id) as stored
  into v_found;
  v_stored := v_found.stored;
  if v_found.gone or v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;
  v_row.public_metadata := coalesce(v_row.public_metadata, '{}');

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_invitations select v_row.*;
  else
    update public.organization_invitations i set (
      organization_id, email_address, role, role_name, status, user_id, public_metadata,
      expires_at, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.email_address, v_row.role, v_row.role_name, v_row.status,
      v_row.user_id, v_row.public_metadata, v_row.expires_at, v_row.clerk_created_at,
      v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where i.clerk_id = p_clerk_id;
  end if;
  perform clerk_sync.keep_private_metadata(
    'public.organization_invitations_private', p_clerk_id, p_state
  );
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_invitation(text, text, timestamptz, text, jsonb) is
  'Applies an organizationInvitation.created, .accepted or .revoked to public.organization_invitations and its _private table (an invitation is removed only with its organization); returns applied or stale, or ignored for other organizationInvitation.* events. Called through clerk_sync.dispatch() only.';

alter table public.organization_invitations enable row level security;
alter table public.organization_invitations_private enable row level security;
revoke all on table public.organization_invitations, public.organization_invitations_private
  from public, anon, authenticated, service_role;
grant select on table public.organization_invitations, public.organization_invitations_private
  to service_role;
grant select on table public.organization_invitations to authenticated;

create policy "members who manage members read their organizations' invitations"
on public.organization_invitations
for select to authenticated
using (
  clerk.is_org_member(organization_id, 'admin')
  or clerk.is_org_member(organization_id, null, 'org:sys_memberships:manage')
);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

-- ================================================================ domains

-- Clerk organization domains: which email domains enrol members in which organization,
-- how (enrollment_mode), and whether the domain is verified. organization.deleted takes
-- its domains along. Readable by the members of the organization.

create table public.organization_domains (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  organization_id text not null,
  name text not null,
  enrollment_mode text not null,
  verification_status text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_domains_organization_id_idx
on public.organization_domains (organization_id);

comment on table public.organization_domains is
  'Clerk organization domains (verified domains), kept in sync by the clerk-webhook Edge Function. Readable by the members of the organization. No foreign keys: a domain may arrive before its organization. Written by public.apply_clerk_events() only.';

comment on column public.organization_domains.id is 'Row id, generated here.';

comment on column public.organization_domains.clerk_id is 'Clerk domain id (orgdmn_…).';

comment on column public.organization_domains.organization_id is 'Clerk organization id (org_…): joins public.organizations.clerk_id.';

comment on column public.organization_domains.name is 'The domain name (acme.com).';

comment on column public.organization_domains.enrollment_mode is 'How users of the domain join: manual_invitation, automatic_invitation or automatic_suggestion.';

comment on column public.organization_domains.verification_status is 'The domain''s verification status (verified, unverified), or null when Clerk sends no verification.';

comment on column public.organization_domains.clerk_created_at is 'When Clerk created the domain.';

comment on column public.organization_domains.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_domains.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_domains.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_domains.created_at is 'When this row was first written.';

comment on column public.organization_domains.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_domains_touch_updated_at
before update on public.organization_domains
for each row execute function clerk_sync.touch_updated_at();

-- A domain goes with its organization.
insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'domain', 'public.organization_domains', 'organization_id')
on conflict do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.domain_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- A domain's event takes its organization (class 4), which serializes it with the
  -- organization's delete (a delete names only the domain: its stored organization, which
  -- never changes); then the domains (class 9).
  if p_class = 4 then
    return array(
      select hashtext(b.state ->> 'organization_id') from unnest(p_batch) b
      where b.type in ('organizationDomain.created', 'organizationDomain.updated')
        and b.state ->> 'organization_id' is not null
      union all
      select hashtext(d.organization_id)
      from public.organization_domains d
      join unnest(p_batch) b on d.clerk_id = b.object_id
      where b.type = 'organizationDomain.deleted'
    );
  elsif p_class = 9 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'organizationDomain.created', 'organizationDomain.updated', 'organizationDomain.deleted'
      )
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.domain_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (4 organizations, 9 domains) that the domain events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_domain(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text,
  p_state jsonb
)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_org text := p_state ->> 'organization_id';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_found record;
  v_stored public.organization_domains;
  v_row public.organization_domains;
begin
  -- Its locks are held: clerk_sync.domain_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'organizationDomain.created', 'organizationDomain.updated', 'organizationDomain.deleted'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'organizationDomain.deleted' then
    -- No updated_at: ordered by the envelope timestamp, as every delete.
    if not clerk_sync.tombstone('domain', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    delete from public.organization_domains where clerk_id = p_clerk_id;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or v_org is null
    or p_state ->> 'name' is null or p_state ->> 'enrollment_mode' is null
  then
    raise exception '% needs organization_id, name, enrollment_mode, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- Gone with its organization, or deleted itself: late events are stale. The tombstones
  -- and the stored row in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where (t.entity, t.clerk_id) in (('domain', p_clerk_id), ('organization', v_org))
    ) as gone,
    (select d from public.organization_domains d where d.clerk_id = p_clerk_id) as stored
  into v_found;
  v_stored := v_found.stored;
  if v_found.gone or v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_domains select v_row.*;
  else
    update public.organization_domains d set (
      organization_id, name, enrollment_mode, verification_status, clerk_created_at,
      clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.name, v_row.enrollment_mode, v_row.verification_status,
      v_row.clerk_created_at, v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where d.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_domain(text, text, timestamptz, text, jsonb) is
  'Applies an organizationDomain.created, .updated or .deleted to public.organization_domains; returns applied or stale, or ignored for other organizationDomain.* events. Called through clerk_sync.dispatch() only.';

alter table public.organization_domains enable row level security;
revoke all on table public.organization_domains from public, anon, authenticated, service_role;
grant select on table public.organization_domains to service_role, authenticated;

create policy "members read the domains of their organizations" on public.organization_domains
for select to authenticated
using (organization_id = any ((select clerk.org_ids())::text[]));

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

-- ================================================================ status

create or replace function public.clerk_sync_status()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  -- Webhook deliveries only: the backfill's (backfill:…, reconcile:…) are its run log's, and
  -- what a user's own /sync applied (sync:…) came from Clerk's API, not from a webhook.
  with webhook as (
    select d.event_type, d.outcome, d.event_at, d.received_at
    from clerk_sync.deliveries d
    where d.svix_id not like 'backfill:%' and d.svix_id not like 'reconcile:%'
      and d.svix_id not like 'sync:%'
  ),
  windows (name, since) as (
    values ('last_hour', now() - interval '1 hour'), ('last_day', now() - interval '1 day')
  )
  select jsonb_build_object(
    'checked_at', now(),
    'users', (select count(*) from public.users u where u.deleted_at is null),
    'rows', jsonb_build_object(
      'organizations', (select count(*) from public.organizations o where o.deleted_at is null),
      'memberships', (select count(*) from public.organization_memberships),
      'invitations', (select count(*) from public.organization_invitations),
      'open_invitations', (
        select count(*) from public.organization_invitations i
        where i.status = 'pending' and (i.expires_at is null or i.expires_at > now())
      ),
      'roles', (select count(*) from public.organization_roles),
      'permissions', (select count(*) from public.organization_permissions),
      'domains', (select count(*) from public.organization_domains)
    ),
    'deliveries', (
      select jsonb_object_agg(w.name, jsonb_build_object(
        'applied', (select count(*) from webhook where outcome = 'applied' and received_at >= w.since),
        'stale', (select count(*) from webhook where outcome = 'stale' and received_at >= w.since),
        'ignored', (select count(*) from webhook where outcome = 'ignored' and received_at >= w.since),
        'refused', (select count(*) from clerk_sync.refusals r where r.last_at >= w.since)
      ))
      from windows w
    ),
    'last_delivery_at', (select max(received_at) from webhook),
    'last_by_type', (
      select coalesce(jsonb_object_agg(t.event_type, jsonb_build_object(
        'received_at', t.received_at, 'event_at', t.event_at
      )), '{}')
      from (
        select event_type, max(received_at) as received_at, max(event_at) as event_at
        from webhook group by event_type
      ) t
    ),
    'refusals', jsonb_build_object(
      'total', (select count(*) from clerk_sync.refusals),
      'recent', (
        select coalesce(jsonb_agg(jsonb_build_object(
          'svix_id', r.svix_id, 'event_type', r.event_type, 'status', r.status,
          'reason', r.reason, 'first_at', r.first_at, 'last_at', r.last_at,
          'attempts', r.attempts,
          'delivered_since', exists (
            select 1 from clerk_sync.deliveries d where d.svix_id = r.svix_id
          )
        ) order by r.last_at desc, r.svix_id), '[]')
        from (
          select * from clerk_sync.refusals order by last_at desc, svix_id limit 10
        ) r
      )
    ),
    'last_run', (
      select jsonb_build_object(
        'id', b.id, 'started_at', b.started_at, 'finished_at', b.finished_at,
        'mode', b.mode, 'ok', b.ok, 'counts', b.counts, 'error', b.error
      )
      from clerk_sync.backfill_runs b
      order by b.finished_at desc, b.id desc
      limit 1
    ),
    'ledger', jsonb_build_object(
      'entries', (select count(*) from clerk_sync.deliveries),
      'oldest_at', (select min(received_at) from clerk_sync.deliveries)
    )
  );
$$;

comment on function public.clerk_sync_status() is
  'The sync''s health as jsonb (what npm run status prints): live users; the rows of the other synced tables (organizations, memberships, invitations and the open ones: pending and not expired, roles, permissions, domains); webhook deliveries by outcome (applied, stale, ignored; duplicates are not recorded) and refusals over the last hour and day; the last delivery of each event type; recent refusals; the last backfill run; the ledger''s size and oldest entry. Executable by service_role only.';

comment on column clerk_sync.backfill_runs.counts is 'Per kind (users, organizations, memberships, invitations, …) that the run finished: fetched, applied (created or updated), stale and duplicate (unchanged), deleted, invalid.';

-- ================================================================ entry point

create or replace function clerk_sync.dispatch(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_object_id text,
  p_state jsonb
)
returns text
language plpgsql
set search_path = ''
as $$
begin
  -- The entities the sync keeps, by the prefix of their event types; each ignores the
  -- actions it does not keep, and every other event type is ignored here.
  case split_part(p_event_type, '.', 1)
    when 'user' then
      return clerk_sync.apply_user(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'organization' then
      return clerk_sync.apply_organization(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'organizationMembership' then
      return clerk_sync.apply_membership(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'organizationInvitation' then
      return clerk_sync.apply_invitation(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'role' then
      return clerk_sync.apply_role(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'permission' then
      return clerk_sync.apply_permission(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'organizationDomain' then
      return clerk_sync.apply_domain(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    else
      return 'ignored';
  end case;
end;
$$;

comment on function clerk_sync.dispatch(text, text, timestamptz, text, jsonb) is
  'Hands an event to the apply function of its entity (users, organizations, memberships, invitations, roles, permissions, domains); ignored for the types the sync does not keep. Called after clerk_sync.lock_batch() has taken the event''s locks.';

create or replace function clerk_sync.lock_batch(p_batch clerk_sync.delivery[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  -- The entities the batch has events of: the others are not asked for keys.
  v_entities text[] := array(select distinct split_part(b.type, '.', 1) from unnest(p_batch) b);
  v_keys int[];
begin
  -- Class by class in ascending order, keys ascending within a class: the one global
  -- order of every lock. A class's keys are read once the classes before it are held, so
  -- that the holder of an email, a slug or an organization-user pair cannot change under
  -- the batch; what the batch itself changes belongs to objects of the batch, locked too.
  for v_class in 1..13 loop
    v_keys := '{}';
    if 'user' = any (v_entities) then
      v_keys := v_keys || clerk_sync.user_lock_keys(p_batch, v_class);
    end if;
    if 'organization' = any (v_entities) then
      v_keys := v_keys || clerk_sync.organization_lock_keys(p_batch, v_class);
    end if;
    if 'organizationMembership' = any (v_entities) then
      v_keys := v_keys || clerk_sync.membership_lock_keys(p_batch, v_class);
    end if;
    if 'organizationInvitation' = any (v_entities) then
      v_keys := v_keys || clerk_sync.invitation_lock_keys(p_batch, v_class);
    end if;
    if 'role' = any (v_entities) then
      v_keys := v_keys || clerk_sync.role_lock_keys(p_batch, v_class);
    end if;
    if 'permission' = any (v_entities) then
      v_keys := v_keys || clerk_sync.permission_lock_keys(p_batch, v_class);
    end if;
    if 'organizationDomain' = any (v_entities) then
      v_keys := v_keys || clerk_sync.domain_lock_keys(p_batch, v_class);
    end if;
    perform pg_advisory_xact_lock(v_class, k.key)
    from (select distinct key from unnest(v_keys) key order by 1) k;
  end loop;
end;
$$;

comment on function clerk_sync.lock_batch(clerk_sync.delivery[]) is
  'Takes every advisory lock the deliveries will take, for a batch or a delivery alone: each entity''s keys (clerk_sync.<entity>_lock_keys()), class by class (emails 1, users 2, slugs 3, organizations 4, invitations 5, memberships 6, roles 7, permissions 8, domains 9; 10 to 13 reserved), by key within a class. Called by the entry point only.';

create or replace function public.clerk_sync_schema_version()
returns text
language sql
stable
set search_path = ''
as $$
  select '20261205100000'::text;
$$;

comment on function public.clerk_sync_schema_version() is
  'The timestamp of the newest clerk-webhook-sync migration applied here; the function and the commands refuse to write to an older schema. Executable by service_role only.';

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
