-- Group commit: many deliveries in one call, one transaction and one WAL flush.
--
-- public.apply_clerk_events(p_events, p_deadline) applies a batch of deliveries in
-- order, exactly as if each had been applied alone, one after the other, and answers one
-- outcome per delivery. The Edge Function sends together the deliveries that arrive while
-- a call is in flight, and the backfill sends a page per call. A batch commits all of its
-- deliveries or none: when one fails, the caller applies each alone, so that one bad
-- delivery cannot change another's outcome.
--
-- Batches never deadlock, with each other or with a single call: before applying
-- anything, a batch takes every lock its deliveries will take, in the one global order
-- of every writer: ledger rows by svix-id, then the advisory locks by class (emails 1,
-- users 2, slugs 3, organizations 4, memberships 6) and key. The apply functions then
-- find their locks held already.
--
-- public.apply_clerk_event() keeps its signature, grants and answers, and applies a
-- delivery alone as a batch of one does.

-- ---------------------------------------------------------------- a delivery

create type clerk_sync.delivery as (
  svix_id text,
  type text,
  event_at timestamptz,
  object_id text,
  state jsonb
);

comment on type clerk_sync.delivery is
  'One delivery of a batch, as public.apply_clerk_events() takes it in JSON: {svix_id, type, event_at, object_id, state}, the arguments of public.apply_clerk_event().';

-- ---------------------------------------------------------------- fewer statements per event

-- The same behaviour as in 20261202090000 and 20261202100000, in fewer statements: a
-- synced event's arguments are checked only when one is missing, a user's two locks are
-- one statement, its tombstone and stored row one read, and private_metadata is written
-- only when it changed.

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
declare
  v_entity text;
  v_outcome text;
begin
  -- The synced event types by entity; any other is ignored (organizationInvitation.*,
  -- organizationDomain.*, role.*, permission.*, …).
  v_entity := case
    when p_event_type in ('user.created', 'user.updated', 'user.deleted') then 'user'
    when p_event_type in ('organization.created', 'organization.updated', 'organization.deleted')
      then 'organization'
    when p_event_type in (
      'organizationMembership.created', 'organizationMembership.updated',
      'organizationMembership.deleted'
    ) then 'membership'
  end;
  if v_entity is null then
    return 'ignored';
  end if;
  -- Only a call that lacks what its type needs pays for the check that says so.
  if p_object_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_object_id, p_state);
  end if;

  case v_entity
    when 'user' then
      v_outcome := clerk_sync.apply_user(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
      if p_event_type = 'user.deleted' and v_outcome = 'applied' then
        -- The user's memberships go with it (Clerk may or may not send their deletes).
        insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id)
        select 'membership', m.clerk_id, p_event_at, p_svix_id
        from public.organization_memberships m where m.user_id = p_object_id
        on conflict (entity, clerk_id) do nothing;
        delete from public.organization_memberships where user_id = p_object_id;
      end if;
      return v_outcome;
    when 'organization' then
      return clerk_sync.apply_organization(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    else
      return clerk_sync.apply_membership(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
  end case;
end;
$$;

comment on function clerk_sync.dispatch(text, text, timestamptz, text, jsonb) is
  'Hands an event to the apply function of its entity (users, organizations, memberships); ignored for the types the sync does not keep. A user.deleted also removes the user''s memberships.';

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
  -- Locks are advisory and taken in one global order, so concurrent deliveries never
  -- deadlock: at most one email lock first, then user locks in ascending key order.
  -- Every transaction that sets a row's email to E holds the lock of E, and every
  -- transaction that writes the row of user U holds the lock of U.
  v_email_lock constant int := 1;
  v_user_lock constant int := 2;
  v_email text := p_state ->> 'email';
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_holder text;
  v_key int := hashtext(p_clerk_id);
  v_holder_key int;
  v_found record;
  v_stored public.users;
  v_row public.users;
begin
  if p_event_type = 'user.deleted' then
    perform pg_advisory_xact_lock(v_user_lock, hashtext(p_clerk_id));
    if not clerk_sync.tombstone('user', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    perform clerk_sync.remove_user(p_clerk_id, p_event_at, p_svix_id);
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null then
    raise exception '% needs clerk_created_at and clerk_updated_at in p_state', p_event_type
      using errcode = 'null_value_not_allowed';
  end if;

  if v_email is not null then
    perform pg_advisory_xact_lock(v_email_lock, hashtext(lower(v_email)));
    select u.clerk_id into v_holder
    from public.users u
    where lower(u.email) = lower(v_email) and u.clerk_id <> p_clerk_id;
  end if;
  -- Both users' locks in one statement, the lower key first (one key twice is held once).
  v_holder_key := coalesce(hashtext(v_holder), v_key);
  perform pg_advisory_xact_lock(v_user_lock, least(v_key, v_holder_key)),
    pg_advisory_xact_lock(v_user_lock, greatest(v_key, v_holder_key));

  -- The tombstone and the stored row in one read, under the locks.
  select
    exists (
      select 1 from clerk_sync.tombstones t where t.entity = 'user' and t.clerk_id = p_clerk_id
    ) as gone,
    (select u from public.users u where u.clerk_id = p_clerk_id) as stored
  into v_found;
  if v_found.gone then
    return 'stale';
  end if;
  v_stored := v_found.stored;

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
    -- The email belongs to the newer of the two states. The holder may have moved on
    -- since it was read (it is locked only now); the where clause re-checks.
    update public.users u set email = null
    where u.clerk_id = v_holder
      and lower(u.email) = lower(v_email)
      and row(v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id)::clerk_sync.version
        > row(u.clerk_updated_at, u.clerk_event_at, u.svix_id)::clerk_sync.version;
    if exists (
      select 1 from public.users u
      where lower(u.email) = lower(v_email) and u.clerk_id <> p_clerk_id
    ) then
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

  if p_state ? 'private_metadata' then
    insert into public.users_private as p (clerk_id, private_metadata)
    values (p_clerk_id, coalesce(nullif(p_state -> 'private_metadata', 'null'), '{}'))
    on conflict (clerk_id) do update set private_metadata = excluded.private_metadata
    where p.private_metadata is distinct from excluded.private_metadata;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_user(text, text, timestamptz, text, jsonb) is
  'Applies a user.created, user.updated or user.deleted to public.users and public.users_private; returns applied or stale. Called by the entry points only.';

-- ---------------------------------------------------------------- the lock phase

create function clerk_sync.lock_batch(p_batch clerk_sync.delivery[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_email_lock constant int := 1;
  v_user_lock constant int := 2;
  v_slug_lock constant int := 3;
  v_org_lock constant int := 4;
  v_membership_lock constant int := 6;
  v_emails text[];
  v_slugs text[];
  -- The entities the batch has events of: the classes no event needs are skipped.
  v_entities text[];
begin
  -- Each class is read after the classes before it are locked: the holder of an email,
  -- a slug or an organization-user pair cannot change while its lock is held, and what
  -- the batch itself changes belongs to objects of the batch, locked as well.
  select
    coalesce(array_agg(distinct lower(b.state ->> 'email')) filter (
      where b.type in ('user.created', 'user.updated') and b.state ->> 'email' is not null
    ), '{}'),
    array_agg(distinct split_part(b.type, '.', 1))
  into v_emails, v_entities
  from unnest(p_batch) b;
  perform pg_advisory_xact_lock(v_email_lock, k.key)
  from (select distinct hashtext(e) as key from unnest(v_emails) e order by 1) k;

  perform pg_advisory_xact_lock(v_user_lock, k.key)
  from (
    select distinct hashtext(i.id) as key
    from (
      select b.object_id as id from unnest(p_batch) b
      where b.type in ('user.created', 'user.updated', 'user.deleted')
      union all
      select u.clerk_id from public.users u where lower(u.email) = any (v_emails)
      union all
      select b.state ->> 'user_id' from unnest(p_batch) b
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
    ) i
    where i.id is not null
    order by 1
  ) k;

  if not v_entities && array['organization', 'organizationMembership'] then
    return;
  end if;
  select coalesce(array_agg(distinct b.state ->> 'slug'), '{}') into v_slugs
  from unnest(p_batch) b
  where b.type in ('organization.created', 'organization.updated') and b.state ->> 'slug' is not null;
  perform pg_advisory_xact_lock(v_slug_lock, k.key)
  from (select distinct hashtext(s) as key from unnest(v_slugs) s order by 1) k;

  perform pg_advisory_xact_lock(v_org_lock, k.key)
  from (
    select distinct hashtext(i.id) as key
    from (
      select b.object_id as id from unnest(p_batch) b
      where b.type in ('organization.created', 'organization.updated', 'organization.deleted')
      union all
      select o.clerk_id from public.organizations o where o.slug = any (v_slugs)
      union all
      select b.state ->> 'organization_id' from unnest(p_batch) b
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
    ) i
    where i.id is not null
    order by 1
  ) k;

  if not 'organizationMembership' = any (v_entities) then
    return;
  end if;
  perform pg_advisory_xact_lock(v_membership_lock, k.key)
  from (
    select distinct hashtext(i.id) as key
    from (
      select b.object_id as id from unnest(p_batch) b
      where b.type in (
        'organizationMembership.created', 'organizationMembership.updated',
        'organizationMembership.deleted'
      )
      union all
      select m.clerk_id
      from public.organization_memberships m
      join unnest(p_batch) b
        on m.organization_id = b.state ->> 'organization_id' and m.user_id = b.state ->> 'user_id'
      where b.type in ('organizationMembership.created', 'organizationMembership.updated')
    ) i
    where i.id is not null
    order by 1
  ) k;
end;
$$;

comment on function clerk_sync.lock_batch(clerk_sync.delivery[]) is
  'Takes every advisory lock the deliveries of a batch will take, in the global order (emails 1, users 2, slugs 3, organizations 4, memberships 6; by key within a class), including the current holders of their emails, slugs and organization-user pairs. Called by public.apply_clerk_events() only.';

-- ---------------------------------------------------------------- one delivery

create function clerk_sync.apply_delivery(
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
  v_outcome := clerk_sync.dispatch(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
  if v_outcome <> 'applied' then
    update clerk_sync.deliveries set outcome = v_outcome where svix_id = p_svix_id;
  end if;
  return v_outcome;
end;
$$;

comment on function clerk_sync.apply_delivery(text, text, timestamptz, text, jsonb) is
  'Applies one delivery alone: its ledger entry (a recorded svix-id is a duplicate), then its event, which takes its own locks in the global order. Called by the entry points only.';

create function clerk_sync.check_deadline(p_deadline timestamptz, p_moment text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- The caller stops waiting at p_deadline and answers 503: a call that reaches the
  -- server later (held by the network, queued in a pool), or finishes later (after lock
  -- waits), must not commit behind its back.
  if clock_timestamp() > p_deadline then
    raise exception 'Call % after its deadline %', p_moment, p_deadline
      using errcode = 'query_canceled';
  end if;
end;
$$;

comment on function clerk_sync.check_deadline(timestamptz, text) is
  'Raises query_canceled once p_deadline (null: none) has passed; p_moment says when: arrived or finished.';

-- ---------------------------------------------------------------- the entry point

create function public.apply_clerk_events(p_events jsonb, p_deadline timestamptz default null)
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
  if v_fresh_count > 1 then
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

comment on function public.apply_clerk_events(jsonb, timestamptz) is
  'Applies a batch of Clerk webhook deliveries (a JSON array of {svix_id, type, event_at, object_id, state}, at most 1000) in order, in one transaction: all commit or none. Returns each delivery''s outcome, in order: applied, duplicate, stale or ignored. With the single-delivery public.apply_clerk_event(), the only writer of the synced tables.';

-- ---------------------------------------------------------------- one delivery, as before

create or replace function public.apply_clerk_event(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_object_id text default null,
  p_state jsonb default null,
  p_deadline timestamptz default null
)
returns text
language plpgsql
security definer
set search_path = ''
set lock_timeout = '3s'
set plan_cache_mode = force_generic_plan
as $$
declare
  v_outcome text;
begin
  if p_svix_id is null or p_event_type is null or p_event_at is null then
    raise exception 'p_svix_id, p_event_type and p_event_at are required'
      using errcode = 'null_value_not_allowed';
  end if;
  perform clerk_sync.check_deadline(p_deadline, 'arrived');
  v_outcome := clerk_sync.apply_delivery(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
  perform clerk_sync.check_deadline(p_deadline, 'finished');
  return v_outcome;
end;
$$;

comment on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz) is
  'Applies one Clerk webhook delivery atomically, as public.apply_clerk_events() applies a batch of one. p_state is the object''s state as the columns name it (null for deletes). Returns applied, duplicate, stale or ignored.';

-- ---------------------------------------------------------------- security

revoke all on function clerk_sync.lock_batch(clerk_sync.delivery[])
  from public, anon, authenticated, service_role;
revoke all on function clerk_sync.apply_delivery(text, text, timestamptz, text, jsonb)
  from public, anon, authenticated, service_role;
revoke all on function clerk_sync.check_deadline(timestamptz, text)
  from public, anon, authenticated, service_role;
revoke all on function public.apply_clerk_events(jsonb, timestamptz)
  from public, anon, authenticated;
grant execute on function public.apply_clerk_events(jsonb, timestamptz) to service_role;
