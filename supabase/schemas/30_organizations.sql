-- Clerk organizations, the tenants of B2B apps: public.organizations and its private
-- metadata. A slug, unique among live organizations, goes to the newer state, as an email
-- does between users; organization.deleted takes the organization's memberships along.

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  name text not null,
  slug text,
  image_url text,
  public_metadata jsonb not null default '{}',
  max_allowed_memberships integer,
  created_by text,
  deleted_at timestamptz,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index organizations_slug_key on public.organizations (slug) where slug is not null;

comment on table public.organizations is
  'Clerk organizations, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_events(). private_metadata is in public.organizations_private.';

comment on column public.organizations.id is 'Row id, generated here: the key for the app''s foreign keys.';

comment on column public.organizations.clerk_id is 'Clerk organization id (org_…); compare with the token''s active organization, clerk.org_id().';

comment on column public.organizations.name is 'The organization''s name.';

comment on column public.organizations.slug is 'The organization''s slug; unique among organizations (a slug freed by one and taken by another goes to the newer state). Null when none, or once deleted.';

comment on column public.organizations.image_url is 'Clerk image URL of the organization.';

comment on column public.organizations.public_metadata is 'Clerk public_metadata: set by the app''s backend, readable by members; {} when empty.';

comment on column public.organizations.max_allowed_memberships is 'The most members Clerk allows in it; 0 means no limit.';

comment on column public.organizations.created_by is 'Clerk user id of the organization''s creator.';

comment on column public.organizations.deleted_at is 'Set when Clerk deleted the organization but the row is kept (soft deletes, or a foreign key of the app holds it); its slug and metadata are then cleared. Null for live organizations.';

comment on column public.organizations.clerk_created_at is 'When Clerk created the organization.';

comment on column public.organizations.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organizations.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organizations.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organizations.created_at is 'When this row was first written.';

comment on column public.organizations.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organizations_touch_updated_at
before update on public.organizations
for each row execute function clerk_sync.touch_updated_at();

create table public.organizations_private (
  clerk_id text primary key references public.organizations (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.organizations_private is
  'Clerk private_metadata of each organization: for the app''s server only (service_role).';

comment on column public.organizations_private.clerk_id is 'Clerk organization id.';

comment on column public.organizations_private.private_metadata is 'Clerk private_metadata; {} when empty.';

insert into clerk_sync.delete_modes (entity, mode) values ('organization', 'hard') on conflict (entity) do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.organization_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- The slugs the batch's states take (class 3), then the organizations (class 4): the
  -- batch's and the current holders of those slugs, read under the slug locks.
  if p_class = 3 then
    return array(
      select hashtext(b.state ->> 'slug') from unnest(p_batch) b
      where b.type in ('organization.created', 'organization.updated')
        and b.state ->> 'slug' is not null
    );
  elsif p_class = 4 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('organization.created', 'organization.updated', 'organization.deleted')
      union all
      select hashtext(o.clerk_id) from public.organizations o
      where o.slug = any (array(
        select b.state ->> 'slug' from unnest(p_batch) b
        where b.type in ('organization.created', 'organization.updated')
      ))
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.organization_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (3 slugs, 4 organizations) that the organization events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_organization(
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
  v_slug text := p_state ->> 'slug';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_holder text;
  v_found record;
  v_stored public.organizations;
  v_row public.organizations;
begin
  -- Its locks are held: clerk_sync.organization_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('organization.created', 'organization.updated', 'organization.deleted') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'organization.deleted' then
    if not clerk_sync.tombstone('organization', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    -- Its memberships go with it, each tombstoned: a late event of one is stale.
    perform clerk_sync.remove_children('organization', p_clerk_id, p_event_at, p_svix_id);
    if not clerk_sync.delete_row(
      'organization', 'public.organizations', 'public.organizations_private', p_clerk_id
    ) then
      update public.organizations set
        slug = null, public_metadata = '{}', deleted_at = p_event_at,
        clerk_event_at = p_event_at, svix_id = p_svix_id
      where clerk_id = p_clerk_id;
    end if;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or p_state ->> 'name' is null then
    raise exception '% needs name, clerk_created_at and clerk_updated_at in p_state', p_event_type
      using errcode = 'null_value_not_allowed';
  end if;

  -- The tombstone, the stored row and the slug's holder in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where t.entity = 'organization' and t.clerk_id = p_clerk_id
    ) as gone,
    (select o from public.organizations o where o.clerk_id = p_clerk_id) as stored,
    (select o.clerk_id from public.organizations o
      where o.slug = v_slug and o.clerk_id <> p_clerk_id) as holder
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
  v_row.deleted_at := null;
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;
  v_row.public_metadata := coalesce(v_row.public_metadata, '{}');

  if v_holder is not null then
    -- The slug belongs to the newer of the two states.
    update public.organizations o set slug = null
    where o.clerk_id = v_holder
      and row(v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id)::clerk_sync.version
        > row(o.clerk_updated_at, o.clerk_event_at, o.svix_id)::clerk_sync.version;
    if not found then
      v_row.slug := null;
    end if;
  end if;

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organizations select v_row.*;
  else
    update public.organizations o set (
      name, slug, image_url, public_metadata, max_allowed_memberships, created_by, deleted_at,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.name, v_row.slug, v_row.image_url, v_row.public_metadata,
      v_row.max_allowed_memberships, v_row.created_by, v_row.deleted_at,
      v_row.clerk_created_at, v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where o.clerk_id = p_clerk_id;
  end if;
  perform clerk_sync.keep_private_metadata('public.organizations_private', p_clerk_id, p_state);
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_organization(text, text, timestamptz, text, jsonb) is
  'Applies an organization.created, .updated or .deleted to public.organizations and public.organizations_private (a delete takes the organization''s memberships along); returns applied or stale, or ignored for other organization.* events. Called through clerk_sync.dispatch() only.';

alter table public.organizations enable row level security;
alter table public.organizations_private enable row level security;
revoke all on table public.organizations, public.organizations_private
  from public, anon, authenticated, service_role;
grant select on table public.organizations, public.organizations_private to service_role;
grant select on table public.organizations to authenticated;

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
