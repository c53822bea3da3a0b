-- One definition per entity (supabase/schemas holds the whole current definition).
--
-- The same behaviour as 20261202090000 to 20261202110000, with each entity's knowledge in
-- one place:
--   * each entity's locks are one function, clerk_sync.<entity>_lock_keys(), used by the
--     lock phase of a batch and by a delivery alone (clerk_sync.lock_batch() of one), so
--     the two cannot drift; the apply functions take no locks of their own;
--   * clerk_sync.dispatch() is one case over the entities, and each apply function ignores
--     the actions it does not keep;
--   * one helper each for the delete modes (clerk_sync.delete_row()), the cascades
--     (clerk_sync.remove_children(), from the rows of the new clerk_sync.cascades) and
--     private metadata (clerk_sync.keep_private_metadata(), written only when it changed);
--   * organizations and memberships read their tombstone, row and holder in one statement,
--     as users do;
--   * clerk_sync.remove_user() is replaced by clerk_sync.delete_row();
--   * public.clerk_sync_versions(): pages of a synced table's ids and versions, which the
--     backfill reads through the same one way of calling the database as it writes;
--   * public.apply_clerk_event(), the entry point before group commit, becomes a thin
--     wrapper of public.apply_clerk_events(), as public.apply_clerk_user_event() is of it.

-- ---------------------------------------------------------------- core

comment on schema clerk_sync is
  'Bookkeeping of the Clerk webhook sync: processed deliveries, tombstones, delete modes and cascades. Not exposed through the Data API.';

create table clerk_sync.cascades (
  parent text not null,
  child text not null,
  child_table text not null,
  parent_column text not null,
  primary key (parent, child, parent_column)
);

comment on table clerk_sync.cascades is
  'Which objects go with a deleted parent (an organization''s memberships, a user''s): deleted and tombstoned with it by clerk_sync.remove_children(). Each child entity''s schema file adds its rows.';

comment on column clerk_sync.cascades.parent is 'The deleted entity: user, organization, …';

comment on column clerk_sync.cascades.child is 'The entity that goes with it (its tombstones'' entity).';

comment on column clerk_sync.cascades.child_table is 'The child''s table, schema-qualified (public.organization_memberships).';

comment on column clerk_sync.cascades.parent_column is 'The child''s column holding the parent''s Clerk id.';

insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'membership', 'public.organization_memberships', 'organization_id'),
  ('user', 'membership', 'public.organization_memberships', 'user_id')
on conflict do nothing;

alter table clerk_sync.cascades enable row level security;
revoke all on table clerk_sync.cascades from public, anon, authenticated, service_role;

create function clerk_sync.delete_row(
  p_entity text,
  p_table text,
  p_private_table text,
  p_clerk_id text
)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if (select m.mode from clerk_sync.delete_modes m where m.entity = p_entity)
    is distinct from 'soft'
  then
    begin
      -- Deferred foreign keys of the app are checked here, where their violation can
      -- be caught, rather than at commit, where it would fail the delivery for 27 hours.
      set constraints all immediate;
      execute format('delete from %s where clerk_id = $1', p_table) using p_clerk_id;
      return true;
    exception when foreign_key_violation then
      -- An app's table references the row with on delete restrict / no action: the row
      -- stays for the reference, erased by the caller.
    end;
  end if;
  execute format('delete from %s where clerk_id = $1', p_private_table) using p_clerk_id;
  return false;
end;
$$;

comment on function clerk_sync.delete_row(text, text, text, text) is
  'The delete modes: deletes the row of a deleted object and returns true, or, when the entity''s mode is soft or an app''s foreign key holds the row, deletes only its private metadata and returns false: the caller then erases the row''s personal fields and sets deleted_at.';

create function clerk_sync.remove_children(
  p_parent text,
  p_parent_id text,
  p_event_at timestamptz,
  p_svix_id text
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_cascade record;
begin
  -- Deletes are rare: one statement per child table, named by clerk_sync.cascades.
  for v_cascade in
    select c.child, c.child_table, c.parent_column
    from clerk_sync.cascades c where c.parent = p_parent
    order by c.child, c.parent_column
  loop
    execute format(
      'with gone as (delete from %s c where c.%I = $1 returning c.clerk_id) '
      'insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id) '
      'select $2, g.clerk_id, $3, $4 from gone g on conflict (entity, clerk_id) do nothing',
      v_cascade.child_table, v_cascade.parent_column
    ) using p_parent_id, v_cascade.child, p_event_at, p_svix_id;
  end loop;
end;
$$;

comment on function clerk_sync.remove_children(text, text, timestamptz, text) is
  'The cascades: deletes and tombstones the objects that go with a deleted parent, as clerk_sync.cascades lists them (Clerk may or may not send their own deletes; either way a late event of one is stale).';

create function clerk_sync.keep_private_metadata(
  p_private_table text,
  p_clerk_id text,
  p_state jsonb
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- Only a state that carries private_metadata sets it, and only a change writes.
  if p_state ? 'private_metadata' then
    execute format(
      'insert into %s as p (clerk_id, private_metadata) values ($1, $2) '
      'on conflict (clerk_id) do update set private_metadata = excluded.private_metadata '
      'where p.private_metadata is distinct from excluded.private_metadata',
      p_private_table
    ) using p_clerk_id, coalesce(nullif(p_state -> 'private_metadata', 'null'), '{}');
  end if;
end;
$$;

comment on function clerk_sync.keep_private_metadata(text, text, jsonb) is
  'Private metadata: writes the private_metadata of a state (null as {}) into the entity''s _private table, which only service_role reads; a state without it leaves it as it is.';

-- ---------------------------------------------------------------- entities

create function clerk_sync.user_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- Every transaction that sets a row's email to E holds the lock of E (class 1), and
  -- every transaction that writes the row of user U holds the lock of U (class 2): the
  -- users of the batch and the current holders of its emails, read under the email locks.
  if p_class = 1 then
    return array(
      select hashtext(lower(b.state ->> 'email')) from unnest(p_batch) b
      where b.type in ('user.created', 'user.updated') and b.state ->> 'email' is not null
    );
  elsif p_class = 2 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('user.created', 'user.updated', 'user.deleted')
      union all
      select hashtext(u.clerk_id) from public.users u
      where lower(u.email) = any (array(
        select lower(b.state ->> 'email') from unnest(p_batch) b
        where b.type in ('user.created', 'user.updated')
      ))
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.user_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (1 emails, 2 users) that the user events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

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

create or replace function clerk_sync.apply_user(
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
  v_email text := p_state ->> 'email';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_holder text;
  v_found record;
  v_stored public.users;
  v_row public.users;
begin
  -- Its locks are held: clerk_sync.user_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('user.created', 'user.updated', 'user.deleted') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'user.deleted' then
    if not clerk_sync.tombstone('user', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    if not clerk_sync.delete_row('user', 'public.users', 'public.users_private', p_clerk_id) then
      update public.users set
        email = null, first_name = null, last_name = null, image_url = null, username = null,
        phone_number = null, email_verified = false, external_id = null,
        public_metadata = '{}', unsafe_metadata = '{}', last_sign_in_at = null,
        deleted_at = p_event_at, clerk_event_at = p_event_at, svix_id = p_svix_id
      where clerk_id = p_clerk_id;
    end if;
    perform clerk_sync.remove_children('user', p_clerk_id, p_event_at, p_svix_id);
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null then
    raise exception '% needs clerk_created_at and clerk_updated_at in p_state', p_event_type
      using errcode = 'null_value_not_allowed';
  end if;

  -- The tombstone, the stored row and the email's holder in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t where t.entity = 'user' and t.clerk_id = p_clerk_id
    ) as gone,
    (select u from public.users u where u.clerk_id = p_clerk_id) as stored,
    (select u.clerk_id from public.users u
      where lower(u.email) = lower(v_email) and u.clerk_id <> p_clerk_id) as holder
  into v_found;
  if v_found.gone then
    return 'stale';
  end if;
  v_stored := v_found.stored;
  v_holder := v_found.holder;

  -- The row as the event leaves it: fields the state does not carry (the first
  -- release's wrapper sends five) keep their stored values.
  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.deleted_at := null;
  if v_stored.clerk_id is null
    or row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
        > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  then
    v_row.clerk_event_at := p_event_at;
    v_row.svix_id := p_svix_id;
  elsif v_updated_at = v_stored.clerk_updated_at
    and coalesce((p_state ->> 'sync_format')::smallint, 1) > v_stored.sync_format
  then
    -- The same Clerk state in a newer format (a backfill after an upgrade): it fills
    -- the columns the row lacks, and the row keeps its version.
    null;
  else
    return 'stale';
  end if;

  if v_holder is not null then
    -- The email belongs to the newer of the two states.
    update public.users u set email = null
    where u.clerk_id = v_holder
      and row(v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id)::clerk_sync.version
        > row(u.clerk_updated_at, u.clerk_event_at, u.svix_id)::clerk_sync.version;
    if not found then
      v_row.email := null;
    end if;
  end if;

  v_row.email_verified := coalesce(v_row.email_verified, false) and v_row.email is not null;
  v_row.public_metadata := coalesce(v_row.public_metadata, '{}');
  v_row.unsafe_metadata := coalesce(v_row.unsafe_metadata, '{}');
  v_row.banned := coalesce(v_row.banned, false);
  v_row.locked := coalesce(v_row.locked, false);
  v_row.sync_format := coalesce(v_row.sync_format, 1);

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.users select v_row.*;
  else
    update public.users u set (
      email, first_name, last_name, image_url, username, phone_number, email_verified,
      external_id, public_metadata, unsafe_metadata, banned, locked, last_sign_in_at,
      deleted_at, sync_format, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.email, v_row.first_name, v_row.last_name, v_row.image_url, v_row.username,
      v_row.phone_number, v_row.email_verified, v_row.external_id, v_row.public_metadata,
      v_row.unsafe_metadata, v_row.banned, v_row.locked, v_row.last_sign_in_at,
      v_row.deleted_at, v_row.sync_format, v_row.clerk_created_at, v_row.clerk_updated_at,
      v_row.clerk_event_at, v_row.svix_id
    )
    where u.clerk_id = p_clerk_id;
  end if;
  perform clerk_sync.keep_private_metadata('public.users_private', p_clerk_id, p_state);
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_user(text, text, timestamptz, text, jsonb) is
  'Applies a user.created, user.updated or user.deleted to public.users and public.users_private (a delete takes the user''s memberships along); returns applied or stale, or ignored for other user.* events. Called through clerk_sync.dispatch() only.';

create or replace function clerk_sync.apply_organization(
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

create or replace function clerk_sync.apply_membership(
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
      where m.organization_id = v_org and m.user_id = v_user and m.clerk_id <> p_clerk_id) as holder
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
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.user_id, v_row.role, v_row.role_name, v_row.permissions,
      v_row.public_metadata, v_row.clerk_created_at, v_row.clerk_updated_at,
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

drop function clerk_sync.remove_user(text, timestamptz, text);

comment on column public.organizations.clerk_id is 'Clerk organization id (org_…); compare with the token''s active organization, clerk.org_id().';

-- ---------------------------------------------------------------- the entry point

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
    else
      return 'ignored';
  end case;
end;
$$;

comment on function clerk_sync.dispatch(text, text, timestamptz, text, jsonb) is
  'Hands an event to the apply function of its entity (users, organizations, memberships); ignored for the types the sync does not keep. Called after clerk_sync.lock_batch() has taken the event''s locks.';

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
  for v_class in 1..6 loop
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
    perform pg_advisory_xact_lock(v_class, k.key)
    from (select distinct key from unnest(v_keys) key order by 1) k;
  end loop;
end;
$$;

comment on function clerk_sync.lock_batch(clerk_sync.delivery[]) is
  'Takes every advisory lock the deliveries will take, for a batch or a delivery alone: each entity''s keys (clerk_sync.<entity>_lock_keys()), class by class (emails 1, users 2, slugs 3, organizations 4, memberships 6), by key within a class. Called by the entry point only.';

create or replace function clerk_sync.apply_delivery(
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
declare
  v_outcome text;
begin
  -- Recorded as applied, the common outcome, which saves a second write on the common
  -- path; the transaction makes it atomic.
  insert into clerk_sync.deliveries (svix_id, event_type, clerk_id, event_at, outcome)
  values (p_svix_id, p_event_type, p_object_id, p_event_at, 'applied')
  on conflict (svix_id) do nothing;
  if not found then
    return 'duplicate';
  end if;
  perform clerk_sync.lock_batch(
    array[row(p_svix_id, p_event_type, p_event_at, p_object_id, p_state)::clerk_sync.delivery]
  );
  v_outcome := clerk_sync.dispatch(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
  if v_outcome <> 'applied' then
    update clerk_sync.deliveries set outcome = v_outcome where svix_id = p_svix_id;
  end if;
  return v_outcome;
end;
$$;

comment on function clerk_sync.apply_delivery(text, text, timestamptz, text, jsonb) is
  'Applies one delivery alone: its ledger entry (a recorded svix-id is a duplicate), its locks (clerk_sync.lock_batch() of one), then its event. Called by the entry points only.';

create or replace function public.apply_clerk_events(p_events jsonb, p_deadline timestamptz default null)
returns text[]
language plpgsql
security definer
set search_path = ''
-- A batch stuck behind a lock fails fast with 55P03 (the function answers 503, so Svix
-- retries) instead of holding the webhooks past Svix's 15 s.
set lock_timeout = '3s'
-- The statements here and in the apply functions have one good plan whatever the
-- batch: planning them anew on each call (custom plans) would cost more than applying.
set plan_cache_mode = force_generic_plan
as $$
declare
  -- Bounds the advisory locks one transaction holds (about two per delivery) well within
  -- the shared lock table (max_locks_per_transaction × max_connections).
  v_max_batch constant int := 1000;
  v_size int;
  v_one jsonb;
  v_batch clerk_sync.delivery[];
  v_fresh boolean[];
  v_fresh_count int;
  v_outcome text;
  v_outcomes text[] := '{}'::text[];
  v_other_ids text[] := '{}'::text[];
  v_other_outcomes text[] := '{}'::text[];
  v_delivery record;
begin
  if jsonb_typeof(p_events) is distinct from 'array' then
    raise exception 'p_events must be a JSON array of deliveries'
      using errcode = 'invalid_parameter_value';
  end if;
  v_size := jsonb_array_length(p_events);
  if v_size > v_max_batch then
    raise exception 'A batch holds at most % deliveries: got %', v_max_batch, v_size
      using errcode = 'program_limit_exceeded';
  elsif v_size = 0 then
    return '{}'::text[];
  end if;
  perform clerk_sync.check_deadline(p_deadline, 'arrived');

  if v_size = 1 then
    -- A delivery alone (the common case at low load) takes the short way.
    v_one := p_events -> 0;
    if jsonb_typeof(v_one) is distinct from 'object' then
      raise exception 'p_events must be a JSON array of deliveries'
        using errcode = 'invalid_parameter_value';
    elsif v_one ->> 'svix_id' is null or v_one ->> 'type' is null or v_one ->> 'event_at' is null then
      raise exception 'Every delivery needs svix_id, type and event_at'
        using errcode = 'null_value_not_allowed';
    end if;
    v_outcome := clerk_sync.apply_delivery(
      v_one ->> 'svix_id', v_one ->> 'type', (v_one ->> 'event_at')::timestamptz,
      v_one ->> 'object_id', nullif(v_one -> 'state', 'null')
    );
    perform clerk_sync.check_deadline(p_deadline, 'finished');
    return array[v_outcome];
  end if;

  select array_agg(e::clerk_sync.delivery) into v_batch
  from jsonb_populate_recordset(null::clerk_sync.delivery, p_events) e;
  if exists (
    select 1 from unnest(v_batch) e where e.svix_id is null or e.type is null or e.event_at is null
  ) then
    raise exception 'Every delivery needs svix_id, type and event_at'
      using errcode = 'null_value_not_allowed';
  end if;

  -- The ledger, in svix-id order (the first class of the lock order). Recorded as
  -- applied, the common outcome; a delivery recorded before, or earlier in the batch,
  -- is a duplicate.
  with input as (
    select e.svix_id, e.type, e.event_at, e.object_id, e.ord
    from unnest(v_batch) with ordinality as e(svix_id, type, event_at, object_id, state, ord)
  ),
  firsts as (
    select distinct on (i.svix_id) i.svix_id, i.ord from input i order by i.svix_id, i.ord
  ),
  recorded as (
    insert into clerk_sync.deliveries (svix_id, event_type, clerk_id, event_at, outcome)
    select i.svix_id, i.type, i.object_id, i.event_at, 'applied'
    from input i join firsts f on f.ord = i.ord
    order by i.svix_id
    on conflict (svix_id) do nothing
    returning svix_id
  )
  select array_agg(f.ord is not null order by i.ord), count(f.ord) into v_fresh, v_fresh_count
  from input i
  left join (firsts f join recorded r on r.svix_id = f.svix_id) on f.ord = i.ord;

  -- Duplicates are not applied, so only the other deliveries are locked for.
  if v_fresh_count > 0 then
    perform clerk_sync.lock_batch(array(
      select row(e.svix_id, e.type, e.event_at, e.object_id, e.state)::clerk_sync.delivery
      from unnest(v_batch) with ordinality as e(svix_id, type, event_at, object_id, state, ord)
      where v_fresh[e.ord]
    ));
  end if;

  for v_delivery in
    select * from unnest(v_batch) with ordinality as e(svix_id, type, event_at, object_id, state, ord)
  loop
    if v_fresh[v_delivery.ord] then
      v_outcome := clerk_sync.dispatch(
        v_delivery.svix_id, v_delivery.type, v_delivery.event_at, v_delivery.object_id,
        v_delivery.state
      );
      if v_outcome <> 'applied' then
        v_other_ids := v_other_ids || v_delivery.svix_id;
        v_other_outcomes := v_other_outcomes || v_outcome;
      end if;
    else
      v_outcome := 'duplicate';
    end if;
    v_outcomes := v_outcomes || v_outcome;
  end loop;

  if cardinality(v_other_ids) > 0 then
    update clerk_sync.deliveries l set outcome = o.outcome
    from unnest(v_other_ids, v_other_outcomes) as o(svix_id, outcome)
    where l.svix_id = o.svix_id;
  end if;
  perform clerk_sync.check_deadline(p_deadline, 'finished');
  return v_outcomes;
end;
$$;

-- ---------------------------------------------------------------- reading

-- The backfill reads the versions it compares with Clerk through the same one way of
-- calling the database (an SQL function by name) as it writes, over either transport.
create function public.clerk_sync_versions(
  p_table regclass,
  p_after text default null,
  p_limit integer default 1000,
  p_column text default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_rows jsonb;
begin
  -- Security invoker: the caller reads only what it may (service_role, the backfill).
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception 'p_limit must be between 1 and 10000: got %', p_limit
      using errcode = 'invalid_parameter_value';
  end if;
  execute format(
    'select coalesce(jsonb_agg(to_jsonb(r) order by r.clerk_id), ''[]'') from ('
    'select t.clerk_id, t.clerk_updated_at%s from %s t '
    'where $1 is null or t.clerk_id > $1 order by t.clerk_id limit $2) r',
    case when p_column is null then '' else format(', t.%I', p_column) end,
    p_table
  ) into v_rows using p_after, p_limit;
  return v_rows;
end;
$$;

comment on function public.clerk_sync_versions(regclass, text, integer, text) is
  'One page, by Clerk id, of a synced table''s Clerk ids and versions (clerk_updated_at), with p_column besides (a membership''s organization_id): what npm run backfill compares with Clerk, over either transport. Executable by service_role only.';

revoke all on function public.clerk_sync_versions(regclass, text, integer, text)
  from public, anon, authenticated;

grant execute on function public.clerk_sync_versions(regclass, text, integer, text) to service_role;

-- ---------------------------------------------------------------- the earlier entry points

-- Thin wrappers of public.apply_clerk_events(), for functions deployed before an upgrade.
create or replace function public.apply_clerk_event(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_object_id text default null,
  p_state jsonb default null,
  p_deadline timestamptz default null
)
returns text
language sql
security definer
set search_path = ''
as $$
  select (public.apply_clerk_events(
    jsonb_build_array(jsonb_build_object(
      'svix_id', p_svix_id, 'type', p_event_type, 'event_at', p_event_at,
      'object_id', p_object_id, 'state', p_state
    )),
    p_deadline
  ))[1];
$$;

comment on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz) is
  'The entry point of functions deployed before 20261202110000, kept as a wrapper: applies one delivery as public.apply_clerk_events() applies a batch of one, and returns its outcome. Removed in 2.0.0.';

comment on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz) is
  'The first release''s entry point, kept for a function deployed before 20261202090000: applies the five fields it knows through public.apply_clerk_event(), leaving the others as they are. Removed in 2.0.0.';

-- ---------------------------------------------------------------- comments that named the old entry point

comment on type clerk_sync.delivery is
  'One delivery of a batch, as public.apply_clerk_events() takes it in JSON: {svix_id, type, event_at, object_id, state}.';

comment on table public.users is
  'Clerk users, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_events(). private_metadata is in public.users_private.';

comment on table public.users_private is
  'Clerk private_metadata of each user: for the app''s server only (service_role). anon and authenticated cannot read it, not even their own row. Written by public.apply_clerk_events().';

comment on table public.organizations is
  'Clerk organizations, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_events(). private_metadata is in public.organizations_private.';

comment on table public.organization_memberships is
  'Clerk organization memberships: who belongs to which organization, with which role. At most one per organization and user. No foreign keys: a membership may arrive before its organization or user. Written by public.apply_clerk_events() only.';

comment on function public.apply_clerk_events(jsonb, timestamptz) is
  'Applies a batch of Clerk webhook deliveries (a JSON array of {svix_id, type, event_at, object_id, state}, at most 1000) in order, in one transaction: all commit or none. Returns each delivery''s outcome, in order: applied, duplicate, stale or ignored. The only writer of the synced tables.';

-- ---------------------------------------------------------------- security

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
