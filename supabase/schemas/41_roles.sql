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

create function clerk.is_org_member(
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
