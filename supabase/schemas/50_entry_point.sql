-- The one entry point: public.apply_clerk_events() applies a batch of deliveries in one
-- transaction (a delivery alone takes the short way), each with its ledger entry, in the
-- one global lock order; clerk_sync.dispatch() hands each event to its entity.

-- ---------------------------------------------------------------- the entities

create function clerk_sync.dispatch(
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
    when 'subscription' then
      return clerk_sync.apply_subscription(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    when 'subscriptionItem' then
      return clerk_sync.apply_subscription_item(
        p_svix_id, p_event_type, p_event_at, p_object_id, p_state
      );
    when 'paymentAttempt' then
      return clerk_sync.apply_payment_attempt(
        p_svix_id, p_event_type, p_event_at, p_object_id, p_state
      );
    when 'waitlistEntry' then
      return clerk_sync.apply_waitlist_entry(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    else
      return 'ignored';
  end case;
end;
$$;

comment on function clerk_sync.dispatch(text, text, timestamptz, text, jsonb) is
  'Hands an event to the apply function of its entity (users, organizations, memberships, invitations, roles, permissions, domains, billing subscriptions, subscription items, payment attempts, waitlist entries); ignored for the types the sync does not keep. Called after clerk_sync.lock_batch() has taken the event''s locks.';

create function clerk_sync.lock_batch(p_batch clerk_sync.delivery[])
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
    if 'subscription' = any (v_entities) then
      v_keys := v_keys || clerk_sync.subscription_lock_keys(p_batch, v_class);
    end if;
    if 'subscriptionItem' = any (v_entities) then
      v_keys := v_keys || clerk_sync.subscription_item_lock_keys(p_batch, v_class);
    end if;
    if 'paymentAttempt' = any (v_entities) then
      v_keys := v_keys || clerk_sync.payment_attempt_lock_keys(p_batch, v_class);
    end if;
    if 'waitlistEntry' = any (v_entities) then
      v_keys := v_keys || clerk_sync.waitlist_entry_lock_keys(p_batch, v_class);
    end if;
    perform pg_advisory_xact_lock(v_class, k.key)
    from (select distinct key from unnest(v_keys) key order by 1) k;
  end loop;
end;
$$;

comment on function clerk_sync.lock_batch(clerk_sync.delivery[]) is
  'Takes every advisory lock the deliveries will take, for a batch or a delivery alone: each entity''s keys (clerk_sync.<entity>_lock_keys()), class by class (emails 1, users 2, slugs 3, organizations 4, invitations 5, memberships 6, roles 7, permissions 8, domains 9, billing subscriptions 10, subscription items 11, payment attempts 12, waitlist entries 13), by key within a class. Called by the entry point only.';

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
-- Each plan is kept for the connection's life: one made while a table was small would be
-- a sequential scan read on every delivery as the table grows. Every statement reads by
-- key, so the plans use the indexes whatever the statistics said (migration
-- 20261205090000 has the measurements).
set enable_seqscan = off
-- Nor compiled to machine code: a plan estimated above jit_above_cost as tables grow
-- would be compiled again on every execution, for statements that touch a few rows.
set jit = off
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

comment on function public.apply_clerk_events(jsonb, timestamptz) is
  'Applies a batch of Clerk webhook deliveries (a JSON array of {svix_id, type, event_at, object_id, state}, at most 1000) in order, in one transaction: all commit or none. Returns each delivery''s outcome, in order: applied, duplicate, stale or ignored. The only writer of the synced tables.';

create function public.clerk_sync_schema_version()
returns text
language sql
stable
set search_path = ''
as $$
  select '20261205110000'::text;
$$;

comment on function public.clerk_sync_schema_version() is
  'The timestamp of the newest clerk-webhook-sync migration applied here; the function and the commands refuse to write to an older schema. Executable by service_role only.';

revoke all on function public.clerk_sync_schema_version() from public, anon, authenticated;

grant execute on function public.clerk_sync_schema_version() to service_role;

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

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
revoke all on function public.apply_clerk_events(jsonb, timestamptz)
  from public, anon, authenticated;
grant execute on function public.apply_clerk_events(jsonb, timestamptz) to service_role;
