-- Clerk organization memberships: who belongs to which organization, with which role; at
-- most one per organization and user. No foreign keys: a membership may arrive before its
-- organization or its user. The helpers of schema clerk read them for RLS, the sync's
-- policies and the app's.

create table public.organization_memberships (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  organization_id text not null,
  user_id text not null,
  role text not null,
  role_name text,
  permissions text[] not null default '{}',
  public_metadata jsonb not null default '{}',
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Columns in the order deployed tables have them: these four came with 20261204190000.
  user_first_name text,
  user_last_name text,
  user_image_url text,
  user_identifier text,
  unique (organization_id, user_id)
);

create index organization_memberships_user_id_idx on public.organization_memberships (user_id);

comment on table public.organization_memberships is
  'Clerk organization memberships: who belongs to which organization, with which role. At most one per organization and user. No foreign keys: a membership may arrive before its organization or user. Written by public.apply_clerk_events() only.';

comment on column public.organization_memberships.id is 'Row id, generated here.';

comment on column public.organization_memberships.clerk_id is 'Clerk membership id (orgmem_…); a user removed and re-added gets a new one.';

comment on column public.organization_memberships.organization_id is 'Clerk organization id (org_…): joins public.organizations.clerk_id.';

comment on column public.organization_memberships.user_id is 'Clerk user id (user_…): joins public.users.clerk_id.';

comment on column public.organization_memberships.role is 'Role key, with the org: prefix (org:admin, org:member, or a custom org:…); legacy admin / basic_member are stored as org:admin / org:member.';

comment on column public.organization_memberships.role_name is 'The role''s display name (Admin).';

comment on column public.organization_memberships.permissions is 'Permission keys the role granted as of the membership''s last event (org:posts:read, …, with system permissions org:sys_*). Once the role is synced in public.organization_roles, clerk.is_org_member() and clerk.has_permission() read the role''s current permissions instead, with the system permissions of this list.';

comment on column public.organization_memberships.public_metadata is 'Clerk public_metadata of the membership; {} when empty.';

comment on column public.organization_memberships.clerk_created_at is 'When the user joined (Clerk''s created_at).';

comment on column public.organization_memberships.clerk_updated_at is 'Clerk''s updated_at of the state this row holds.';

comment on column public.organization_memberships.clerk_event_at is 'Envelope timestamp of the event that wrote this row.';

comment on column public.organization_memberships.svix_id is 'svix-id of the delivery that wrote this row.';

comment on column public.organization_memberships.created_at is 'When this row was first written.';

comment on column public.organization_memberships.updated_at is 'When this row was last written (kept by a trigger).';

comment on column public.organization_memberships.user_first_name is 'The member''s first name, as co-members see it in Clerk (public_user_data): from the member''s row of public.users when the sync has it, else from the membership''s last event.';

comment on column public.organization_memberships.user_last_name is 'The member''s last name, as co-members see it (see user_first_name).';

comment on column public.organization_memberships.user_image_url is 'The member''s profile image URL, as co-members see it (see user_first_name).';

comment on column public.organization_memberships.user_identifier is 'The member''s primary identifier (email, phone or username), as co-members see it in Clerk (see user_first_name).';

create trigger organization_memberships_touch_updated_at
before update on public.organization_memberships
for each row execute function clerk_sync.touch_updated_at();

create table public.organization_memberships_private (
  clerk_id text primary key references public.organization_memberships (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.organization_memberships_private is
  'Clerk private_metadata of each membership: for the app''s server only (service_role).';

comment on column public.organization_memberships_private.clerk_id is 'Clerk membership id.';

comment on column public.organization_memberships_private.private_metadata is 'Clerk private_metadata; {} when empty.';

-- A membership goes with its organization and with its user.
insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'membership', 'public.organization_memberships', 'organization_id'),
  ('user', 'membership', 'public.organization_memberships', 'user_id')
on conflict do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.membership_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- A membership's state takes its user (class 2) and its organization (class 4), which
  -- serialize it with their deletes and with every membership of the pair; then the
  -- memberships (class 6): the batch's and the current holders of its pairs, read under
  -- the user and organization locks.
  if p_class = 2 then
    return array(
      select hashtext(b.state ->> 'user_id') from unnest(p_batch) b
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
        and b.state ->> 'user_id' is not null
    );
  elsif p_class = 4 then
    return array(
      select hashtext(b.state ->> 'organization_id') from unnest(p_batch) b
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
        and b.state ->> 'organization_id' is not null
    );
  elsif p_class = 6 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'organizationMembership.created', 'organizationMembership.updated',
        'organizationMembership.deleted'
      )
      union all
      select hashtext(m.clerk_id)
      from public.organization_memberships m
      join unnest(p_batch) b
        on m.organization_id = b.state ->> 'organization_id' and m.user_id = b.state ->> 'user_id'
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.membership_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (2 users, 4 organizations, 6 memberships) that the membership events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_membership(
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
  v_user text := p_state ->> 'user_id';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_holder text;
  v_found record;
  v_stored public.organization_memberships;
  v_row public.organization_memberships;
begin
  -- Its locks are held: clerk_sync.membership_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'organizationMembership.created', 'organizationMembership.updated',
    'organizationMembership.deleted'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'organizationMembership.deleted' then
    if not clerk_sync.tombstone('membership', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    delete from public.organization_memberships where clerk_id = p_clerk_id;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or v_org is null
    or v_user is null or p_state ->> 'role' is null
  then
    raise exception '% needs organization_id, user_id, role, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- Gone with its organization or its user, or deleted itself: late events are stale.
  -- The tombstones, the stored row and the pair's holder in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where (t.entity, t.clerk_id) in (('membership', p_clerk_id), ('organization', v_org), ('user', v_user))
    ) as gone,
    (select m from public.organization_memberships m where m.clerk_id = p_clerk_id) as stored,
    (select m.clerk_id from public.organization_memberships m
      where m.organization_id = v_org and m.user_id = v_user and m.clerk_id <> p_clerk_id) as holder,
    (select u from public.users u where u.clerk_id = v_user) as person
  into v_found;
  v_stored := v_found.stored;
  v_holder := v_found.holder;
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
  v_row.public_metadata := coalesce(v_row.public_metadata, '{}');
  if (v_found.person).clerk_id is not null then
    -- The member's own row is newer than any copy a membership event carries, and
    -- clerk_sync.apply_user() keeps these columns as it changes.
    v_row.user_first_name := (v_found.person).first_name;
    v_row.user_last_name := (v_found.person).last_name;
    v_row.user_image_url := (v_found.person).image_url;
    v_row.user_identifier := coalesce(
      (v_found.person).email, (v_found.person).phone_number, (v_found.person).username
    );
  end if;

  if v_holder is not null then
    -- Clerk has one membership per organization and user at a time: of two, the older
    -- was removed (its delete may still be on its way). The newer state keeps the pair.
    delete from public.organization_memberships m
    where m.clerk_id = v_holder
      and row(v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id)::clerk_sync.version
        > row(m.clerk_updated_at, m.clerk_event_at, m.svix_id)::clerk_sync.version;
    if not found then
      return 'stale';
    end if;
  end if;

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_memberships select v_row.*;
  else
    update public.organization_memberships m set (
      organization_id, user_id, role, role_name, permissions, public_metadata,
      user_first_name, user_last_name, user_image_url, user_identifier,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.user_id, v_row.role, v_row.role_name, v_row.permissions,
      v_row.public_metadata, v_row.user_first_name, v_row.user_last_name, v_row.user_image_url,
      v_row.user_identifier, v_row.clerk_created_at, v_row.clerk_updated_at,
      v_row.clerk_event_at, v_row.svix_id
    )
    where m.clerk_id = p_clerk_id;
  end if;
  perform clerk_sync.keep_private_metadata(
    'public.organization_memberships_private', p_clerk_id, p_state
  );
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_membership(text, text, timestamptz, text, jsonb) is
  'Applies an organizationMembership.created, .updated or .deleted to public.organization_memberships and its _private table; returns applied or stale, or ignored for other organizationMembership.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

create function clerk.org_ids()
returns text[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.organization_id), '{}')
  from public.organization_memberships m
  where m.user_id = (select auth.jwt()) ->> 'sub';
$$;

comment on function clerk.org_ids() is
  'Every organization the signed-in user is a member of, from the synced memberships (the token names only the active one). In policies, evaluated once per statement: organization_id = any ((select clerk.org_ids())::text[]).';

revoke all on all functions in schema clerk from public;
grant execute on all functions in schema clerk to anon, authenticated, service_role;

alter table public.organization_memberships enable row level security;
alter table public.organization_memberships_private enable row level security;
revoke all on table public.organization_memberships, public.organization_memberships_private
  from public, anon, authenticated, service_role;
grant select on table public.organization_memberships, public.organization_memberships_private
  to service_role;
grant select on table public.organization_memberships to authenticated;

create policy "members read their organizations" on public.organizations
for select to authenticated
using (clerk_id = any ((select clerk.org_ids())::text[]));

create policy "members read the memberships of their organizations" on public.organization_memberships
for select to authenticated
using (organization_id = any ((select clerk.org_ids())::text[]));

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
