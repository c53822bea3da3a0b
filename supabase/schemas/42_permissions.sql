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
