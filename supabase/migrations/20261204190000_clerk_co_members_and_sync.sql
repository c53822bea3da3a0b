-- Co-members and sync on demand (release 1.1.0).
--
--   * public.organization_memberships gains what co-members see of each other in Clerk
--     (public_user_data): user_first_name, user_last_name, user_image_url, user_identifier,
--     readable under the existing policy by the members of the organization. They come
--     from the member's row of public.users when the sync has it (clerk_sync.apply_user()
--     keeps them as the user changes), else from the membership's own events; existing
--     memberships are filled here from public.users.
--   * public.clerk_sync_user(): the row and tombstone POST /sync answers from.
--   * public.clerk_sync_status() leaves /sync's deliveries (sync:…) out of the webhook's.

-- ---------------------------------------------------------------- co-members

alter table public.organization_memberships
  add column user_first_name text,
  add column user_last_name text,
  add column user_image_url text,
  add column user_identifier text;

comment on column public.organization_memberships.user_first_name is 'The member''s first name, as co-members see it in Clerk (public_user_data): from the member''s row of public.users when the sync has it, else from the membership''s last event.';

comment on column public.organization_memberships.user_last_name is 'The member''s last name, as co-members see it (see user_first_name).';

comment on column public.organization_memberships.user_image_url is 'The member''s profile image URL, as co-members see it (see user_first_name).';

comment on column public.organization_memberships.user_identifier is 'The member''s primary identifier (email, phone or username), as co-members see it in Clerk (see user_first_name).';

update public.organization_memberships m
set (user_first_name, user_last_name, user_image_url, user_identifier) = (
  u.first_name, u.last_name, u.image_url, coalesce(u.email, u.phone_number, u.username)
)
from public.users u
where u.clerk_id = m.user_id;

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
  -- What co-members see of the user in each of their organizations (their own copy of
  -- Clerk's public_user_data), as this newer state has it.
  update public.organization_memberships m
  set (user_first_name, user_last_name, user_image_url, user_identifier) = (
    v_row.first_name, v_row.last_name, v_row.image_url,
    coalesce(v_row.email, v_row.phone_number, v_row.username)
  )
  where m.user_id = p_clerk_id
    and (m.user_first_name, m.user_last_name, m.user_image_url, m.user_identifier)
      is distinct from (
        v_row.first_name, v_row.last_name, v_row.image_url,
        coalesce(v_row.email, v_row.phone_number, v_row.username)
      );
  return 'applied';
end;
$$;

-- ---------------------------------------------------------------- on demand

create function public.clerk_sync_user(p_clerk_id text)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'user', (
      select to_jsonb(u) from public.users u
      where u.clerk_id = p_clerk_id and u.deleted_at is null
    ),
    'deleted', exists (
      select 1 from clerk_sync.tombstones t where t.entity = 'user' and t.clerk_id = p_clerk_id
    )
  );
$$;

comment on function public.clerk_sync_user(text) is
  'What POST /sync needs to answer a signed-in user at once: their row of public.users as they may read it (no private metadata), and whether Clerk deleted them (a tombstone). Executable by service_role only.';

revoke all on function public.clerk_sync_user(text) from public, anon, authenticated;

grant execute on function public.clerk_sync_user(text) to service_role;

-- ---------------------------------------------------------------- health and version

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

create or replace function public.clerk_sync_schema_version()
returns text
language sql
stable
set search_path = ''
as $$
  select '20261204190000'::text;
$$;

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
