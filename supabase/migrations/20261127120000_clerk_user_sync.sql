-- Clerk user sync: the table the app reads, and the one function that writes it.
--
-- Clerk delivers its user.* webhooks through Svix at least once, in no guaranteed
-- order, and retries for about 27 hours. public.apply_clerk_user_event() applies one
-- delivery atomically and makes every delivery order converge to Clerk's final state:
--   * a ledger of svix-ids makes a redelivery change nothing ('duplicate');
--   * each row remembers the version of the Clerk state it holds, ordered by
--     (Clerk updated_at, envelope timestamp, svix-id in byte order); an older event
--     is 'stale';
--   * a tombstone per deleted Clerk id: Clerk never reuses ids, so nothing brings a
--     deleted user back;
--   * an email moving between users goes to whichever state is newer.
-- The ledger and tombstones live in the schema clerk_sync, which the Data API does not
-- expose; anon and authenticated may only read their own row of public.users.

create schema if not exists clerk_sync;
comment on schema clerk_sync is
  'Bookkeeping of the Clerk webhook sync: processed deliveries and deleted users. Not exposed through the Data API.';
revoke all on schema clerk_sync from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------- public.users

create table public.users (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  email text,
  first_name text,
  last_name text,
  image_url text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index users_email_lower_key on public.users (lower(email)) where email is not null;

comment on table public.users is
  'Clerk users, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_user_event().';
comment on column public.users.id is 'Row id, generated here.';
comment on column public.users.clerk_id is 'Clerk user id (user_…); the key the webhooks use. Compare with auth.jwt()->>''sub''.';
comment on column public.users.email is 'Primary email address (the one whose id is primary_email_address_id); null when the user has none. Unique regardless of case.';
comment on column public.users.first_name is 'First name as in Clerk; null when not set.';
comment on column public.users.last_name is 'Last name as in Clerk; null when not set.';
comment on column public.users.image_url is 'Clerk profile image URL.';
comment on column public.users.clerk_created_at is 'When Clerk created the user (Clerk''s created_at).';
comment on column public.users.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';
comment on column public.users.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';
comment on column public.users.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break and a trail for debugging.';
comment on column public.users.created_at is 'When this row was first written.';
comment on column public.users.updated_at is 'When this row was last written (kept by a trigger).';

create function clerk_sync.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function clerk_sync.touch_updated_at() is 'Keeps updated_at of a row at the time of its last write.';

create trigger users_touch_updated_at
before update on public.users
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- bookkeeping

create table clerk_sync.deliveries (
  svix_id text primary key,
  event_type text not null,
  clerk_id text,
  event_at timestamptz not null,
  outcome text not null check (outcome in ('applied', 'stale', 'ignored')),
  received_at timestamptz not null default now()
);
create index deliveries_received_at_idx on clerk_sync.deliveries (received_at);

comment on table clerk_sync.deliveries is
  'Ledger of processed webhook deliveries, one row per svix-id: a redelivery of a recorded id changes nothing.';
comment on column clerk_sync.deliveries.svix_id is 'The svix-id header: the same on every retry and replay of one message.';
comment on column clerk_sync.deliveries.event_type is 'Clerk event type, e.g. user.updated.';
comment on column clerk_sync.deliveries.clerk_id is 'Clerk user id the event is about; null for events that are not user.*.';
comment on column clerk_sync.deliveries.event_at is 'Envelope timestamp of the event.';
comment on column clerk_sync.deliveries.outcome is 'What the delivery did: applied, stale (older than the stored state) or ignored (not a user event).';
comment on column clerk_sync.deliveries.received_at is 'When the delivery was first processed.';

create table clerk_sync.deleted_users (
  clerk_id text primary key,
  deleted_at timestamptz not null,
  svix_id text not null,
  recorded_at timestamptz not null default now()
);

comment on table clerk_sync.deleted_users is
  'Tombstones of deleted Clerk users. Clerk never reuses a user id, so a create or update arriving after the delete is stale.';
comment on column clerk_sync.deleted_users.clerk_id is 'The deleted Clerk user id.';
comment on column clerk_sync.deleted_users.deleted_at is 'Envelope timestamp of the user.deleted event.';
comment on column clerk_sync.deleted_users.svix_id is 'svix-id of the user.deleted delivery.';
comment on column clerk_sync.deleted_users.recorded_at is 'When the tombstone was written.';

-- ---------------------------------------------------------------- the writer

create function public.apply_clerk_user_event(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text default null,
  p_email text default null,
  p_first_name text default null,
  p_last_name text default null,
  p_image_url text default null,
  p_clerk_created_at timestamptz default null,
  p_clerk_updated_at timestamptz default null,
  p_deadline timestamptz default null
)
returns text
language plpgsql
security definer
set search_path = ''
-- A delivery stuck behind a lock fails fast with 55P03 (the function answers 503,
-- so Svix retries) instead of holding the webhook past Svix's 15 s.
set lock_timeout = '3s'
as $$
declare
  -- Locks are advisory and taken in one global order, so concurrent deliveries never
  -- deadlock: at most one email lock first, then user locks in ascending key order.
  -- Every transaction that sets a row's email to E holds the lock of E, and every
  -- transaction that writes the row of user U holds the lock of U.
  v_email_lock constant int := 1;
  v_user_lock constant int := 2;
  v_outcome text;
  v_holder text;
  v_first_key int;
  v_second_key int;
  v_email text := p_email;
  v_stored record;
begin
  if p_svix_id is null or p_event_type is null or p_event_at is null then
    raise exception 'p_svix_id, p_event_type and p_event_at are required'
      using errcode = 'null_value_not_allowed';
  end if;
  -- The caller stops waiting at p_deadline and answers 503: a call that reaches the
  -- server later (held by the network, queued in a pool) must not commit behind its back.
  if clock_timestamp() > p_deadline then
    raise exception 'Delivery % arrived after its deadline %', p_svix_id, p_deadline
      using errcode = 'query_canceled';
  end if;

  -- Recorded with the outcome it will have unless the event turns out stale, which
  -- saves a second write on the common path (the transaction makes it atomic).
  insert into clerk_sync.deliveries (svix_id, event_type, clerk_id, event_at, outcome)
  values (
    p_svix_id, p_event_type, p_clerk_id, p_event_at,
    case when p_event_type in ('user.created', 'user.updated', 'user.deleted')
      then 'applied' else 'ignored' end
  )
  on conflict (svix_id) do nothing;
  if not found then
    return 'duplicate';
  end if;

  if p_event_type not in ('user.created', 'user.updated', 'user.deleted') then
    v_outcome := 'ignored';
  elsif p_clerk_id is null then
    raise exception '% needs p_clerk_id', p_event_type using errcode = 'null_value_not_allowed';
  elsif p_event_type = 'user.deleted' then
    perform pg_advisory_xact_lock(v_user_lock, hashtext(p_clerk_id));
    delete from public.users where clerk_id = p_clerk_id;
    insert into clerk_sync.deleted_users (clerk_id, deleted_at, svix_id)
    values (p_clerk_id, p_event_at, p_svix_id)
    on conflict (clerk_id) do nothing;
    v_outcome := case when found then 'applied' else 'stale' end;
  else
    if p_clerk_updated_at is null or p_clerk_created_at is null then
      raise exception '% needs p_clerk_created_at and p_clerk_updated_at', p_event_type
        using errcode = 'null_value_not_allowed';
    end if;

    if v_email is not null then
      perform pg_advisory_xact_lock(v_email_lock, hashtext(lower(v_email)));
      select u.clerk_id into v_holder
      from public.users u
      where lower(u.email) = lower(v_email) and u.clerk_id <> p_clerk_id;
    end if;

    v_first_key := hashtext(p_clerk_id);
    v_second_key := coalesce(hashtext(v_holder), v_first_key);
    perform pg_advisory_xact_lock(v_user_lock, least(v_first_key, v_second_key));
    if v_first_key <> v_second_key then
      perform pg_advisory_xact_lock(v_user_lock, greatest(v_first_key, v_second_key));
    end if;

    -- The stored version and the tombstone, in one statement.
    select u.clerk_updated_at, u.clerk_event_at, u.svix_id,
      exists (select 1 from clerk_sync.deleted_users d where d.clerk_id = p_clerk_id) as deleted
    into v_stored
    from (select) as one
    left join public.users u on u.clerk_id = p_clerk_id;

    if v_stored.deleted
      or (v_stored.svix_id is not null
        and (v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id collate "C")
          > (p_clerk_updated_at, p_event_at, p_svix_id collate "C"))
    then
      v_outcome := 'stale';
    else
      if v_holder is not null then
        -- The email belongs to the newer of the two states. The holder may have moved
        -- on since it was read (it is locked only now); the where clause re-checks.
        update public.users u set email = null
        where u.clerk_id = v_holder
          and lower(u.email) = lower(v_email)
          and (u.clerk_updated_at, u.clerk_event_at, u.svix_id collate "C")
            < (p_clerk_updated_at, p_event_at, p_svix_id collate "C");
        if exists (
          select 1 from public.users u
          where lower(u.email) = lower(v_email) and u.clerk_id <> p_clerk_id
        ) then
          v_email := null;
        end if;
      end if;

      insert into public.users as u (
        clerk_id, email, first_name, last_name, image_url,
        clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
      )
      values (
        p_clerk_id, v_email, p_first_name, p_last_name, p_image_url,
        p_clerk_created_at, p_clerk_updated_at, p_event_at, p_svix_id
      )
      on conflict (clerk_id) do update set
        email = excluded.email,
        first_name = excluded.first_name,
        last_name = excluded.last_name,
        image_url = excluded.image_url,
        clerk_created_at = excluded.clerk_created_at,
        clerk_updated_at = excluded.clerk_updated_at,
        clerk_event_at = excluded.clerk_event_at,
        svix_id = excluded.svix_id;
      v_outcome := 'applied';
    end if;
  end if;

  if v_outcome = 'stale' then
    update clerk_sync.deliveries set outcome = v_outcome where svix_id = p_svix_id;
  end if;
  -- Nor may a call that started in time but finished late (after lock waits) commit.
  if clock_timestamp() > p_deadline then
    raise exception 'Delivery % finished after its deadline %', p_svix_id, p_deadline
      using errcode = 'query_canceled';
  end if;
  return v_outcome;
end;
$$;

comment on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz) is
  'Applies one Clerk webhook delivery atomically; the only writer of public.users. Returns applied, duplicate, stale or ignored.';

-- ---------------------------------------------------------------- retention

create function clerk_sync.prune_deliveries(p_older_than interval default interval '30 days')
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_pruned bigint;
begin
  -- Svix retries a message for about 27.6 hours: forgetting a delivery sooner would let
  -- its retry apply twice.
  if p_older_than is null or p_older_than < interval '28 hours' then
    raise exception 'Cannot prune deliveries younger than 28 hours: %', p_older_than
      using errcode = 'invalid_parameter_value';
  end if;
  delete from clerk_sync.deliveries where received_at < now() - p_older_than;
  get diagnostics v_pruned = row_count;
  return v_pruned;
end;
$$;

comment on function clerk_sync.prune_deliveries(interval) is
  'Deletes ledger entries older than the window (default 30 days, well past Svix''s 27.6 h of retries) and returns how many. Tombstones are kept.';

-- ---------------------------------------------------------------- security

alter table public.users enable row level security;
alter table clerk_sync.deliveries enable row level security;
alter table clerk_sync.deleted_users enable row level security;

-- Supabase grants ALL on new objects in public to anon, authenticated and service_role.
-- Take it back: the app reads, only the apply function writes.
revoke all on table public.users from public, anon, authenticated, service_role;
grant select on table public.users to authenticated, service_role;

create policy "users read their own row" on public.users
for select to authenticated
using ((select auth.jwt() ->> 'sub') = clerk_id);

revoke all on all tables in schema clerk_sync from public, anon, authenticated, service_role;
revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

revoke all on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)
  from public, anon, authenticated;
grant execute on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)
  to service_role;
