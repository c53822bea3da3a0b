-- Clerk sync core: one entry point for every Clerk event, the user row apps build on,
-- private metadata kept private, and deletes that an app's foreign keys cannot break.
--
-- Upgrades the first release (20261127120000_clerk_user_sync) in place, in one
-- transaction, keeping its rows, its ledger, its tombstones and its entry point:
--   * public.apply_clerk_event() is the one writer: it owns the ledger (duplicates),
--     the deadline and the stale bookkeeping, and hands the event to the apply
--     function of its entity in clerk_sync (users here; more entities later);
--   * public.apply_clerk_user_event(), the first release's entry point, stays as a
--     thin wrapper of it: a function deployed before this migration keeps applying
--     deliveries until the new one is deployed, and nothing it sends is lost;
--   * tombstones are keyed by entity and Clerk id (clerk_sync.deleted_users moves into
--     clerk_sync.tombstones);
--   * public.users gains the fields apps ask for; private_metadata goes to
--     public.users_private, which only service_role may read;
--   * a user.deleted removes the row, or, when an app's foreign key holds it (or the
--     app chose soft deletes in clerk_sync.delete_modes), keeps it with every personal
--     field erased. Either way the tombstone keeps the person from coming back.

-- ---------------------------------------------------------------- tombstones

create table clerk_sync.tombstones (
  entity text not null,
  clerk_id text not null,
  deleted_at timestamptz not null,
  svix_id text not null,
  recorded_at timestamptz not null default now(),
  primary key (entity, clerk_id)
);

comment on table clerk_sync.tombstones is
  'Deleted Clerk objects. Clerk never reuses an id, so a create or update arriving after the delete is stale.';
comment on column clerk_sync.tombstones.entity is 'Which kind of Clerk object: user.';
comment on column clerk_sync.tombstones.clerk_id is 'The deleted object''s Clerk id.';
comment on column clerk_sync.tombstones.deleted_at is 'Envelope timestamp of the delete event.';
comment on column clerk_sync.tombstones.svix_id is 'svix-id of the delete delivery (or reconcile:<id> when the backfill''s reconcile deleted it).';
comment on column clerk_sync.tombstones.recorded_at is 'When the tombstone was written.';

insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id, recorded_at)
select 'user', clerk_id, deleted_at, svix_id, recorded_at from clerk_sync.deleted_users;
drop table clerk_sync.deleted_users;

comment on column clerk_sync.deliveries.clerk_id is
  'Clerk id of the object the event is about; null for events that are not synced.';
comment on column clerk_sync.deliveries.outcome is
  'What the delivery did: applied, stale (older than the stored state) or ignored (an event type that is not synced).';

-- ---------------------------------------------------------------- delete modes

create table clerk_sync.delete_modes (
  entity text primary key,
  mode text not null check (mode in ('hard', 'soft'))
);

comment on table clerk_sync.delete_modes is
  'How a Clerk delete event treats the row: hard removes it (kept, erased, only while a foreign key of the app holds it); soft always keeps it, erased, with deleted_at set. Change with: update clerk_sync.delete_modes set mode = ''soft'' where entity = ''user''.';
comment on column clerk_sync.delete_modes.entity is 'Which kind of Clerk object: user.';
comment on column clerk_sync.delete_modes.mode is 'hard (the default) or soft.';

insert into clerk_sync.delete_modes (entity, mode) values ('user', 'hard');

-- ---------------------------------------------------------------- the user row

alter table public.users
  add column username text,
  add column phone_number text,
  add column email_verified boolean not null default false,
  add column external_id text,
  add column public_metadata jsonb not null default '{}',
  add column unsafe_metadata jsonb not null default '{}',
  add column banned boolean not null default false,
  add column locked boolean not null default false,
  add column last_sign_in_at timestamptz,
  add column deleted_at timestamptz,
  -- Rows of the first release hold its five fields only: format 1.
  add column sync_format smallint not null default 1;

comment on table public.users is
  'Clerk users, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_event(). private_metadata is in public.users_private.';
comment on column public.users.username is 'Clerk username; null when not set.';
comment on column public.users.phone_number is 'Primary phone number (the one whose id is primary_phone_number_id), E.164 as Clerk stores it; null when none.';
comment on column public.users.email_verified is 'Whether the primary email address is verified (its verification status is verified); false when there is no email.';
comment on column public.users.external_id is 'The id the app gave this user in Clerk (external_id); null when not set.';
comment on column public.users.public_metadata is 'Clerk public_metadata: set by the app''s backend, readable by the user. Safe for authorization (roles, plans); {} when empty.';
comment on column public.users.unsafe_metadata is 'Clerk unsafe_metadata: written by the user from the browser. Never trust it for authorization. {} when empty.';
comment on column public.users.banned is 'Whether the user is banned in Clerk.';
comment on column public.users.locked is 'Whether Clerk has locked the user (too many failed sign-ins).';
comment on column public.users.last_sign_in_at is 'When the user last signed in, as Clerk last reported it; null if never.';
comment on column public.users.deleted_at is 'Set when Clerk deleted the user but the row is kept (soft deletes, or a foreign key of the app holds it): every personal field is then erased. Null for live users.';
comment on column public.users.sync_format is 'Which set of Clerk fields the row was written with: 1, the first release''s (email, names, image); 2, every column of this table. A delivery of the same Clerk state in a newer format (a backfill after an upgrade) fills the row.';

create table public.users_private (
  clerk_id text primary key references public.users (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.users_private is
  'Clerk private_metadata of each user: for the app''s server only (service_role). anon and authenticated cannot read it, not even their own row. Written by public.apply_clerk_event().';
comment on column public.users_private.clerk_id is 'Clerk user id; the row of public.users it belongs to.';
comment on column public.users_private.private_metadata is 'Clerk private_metadata, set by the app''s backend and never shown to the user; {} when empty.';

alter table public.users_private enable row level security;
revoke all on table public.users_private from public, anon, authenticated, service_role;
grant select on table public.users_private to service_role;

-- Supabase's linter (auth_rls_initplan) wants the call itself wrapped: (select auth.jwt()).
alter policy "users read their own row" on public.users
using ((select auth.jwt()) ->> 'sub' = clerk_id);

-- ---------------------------------------------------------------- ordering

create type clerk_sync.version as (
  clerk_updated_at timestamptz,
  clerk_event_at timestamptz,
  svix_id text collate "C"
);

comment on type clerk_sync.version is
  'The order of Clerk states, the one comparison every apply function uses: Clerk''s updated_at, then the envelope timestamp, then the svix-id in byte order. Compare row(…)::clerk_sync.version values with > (a native comparison, unlike a function call with its own search_path).';

create function clerk_sync.tombstone(
  p_entity text,
  p_clerk_id text,
  p_deleted_at timestamptz,
  p_svix_id text
)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  insert into clerk_sync.tombstones (entity, clerk_id, deleted_at, svix_id)
  values (p_entity, p_clerk_id, p_deleted_at, p_svix_id)
  on conflict (entity, clerk_id) do nothing;
  return found;
end;
$$;

comment on function clerk_sync.tombstone(text, text, timestamptz, text) is
  'Writes the tombstone of a deleted object; false when it had one (the delete is then stale).';

-- ---------------------------------------------------------------- users

create function clerk_sync.remove_user(p_clerk_id text, p_event_at timestamptz, p_svix_id text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if (select m.mode from clerk_sync.delete_modes m where m.entity = 'user') is distinct from 'soft' then
    begin
      -- Deferred foreign keys of the app are checked here, where their violation can
      -- be caught, rather than at commit, where it would fail the delivery for 27 hours.
      set constraints all immediate;
      delete from public.users where clerk_id = p_clerk_id;
      return;
    exception when foreign_key_violation then
      -- An app's table references the user with on delete restrict / no action: the
      -- row stays for the reference, erased below.
    end;
  end if;
  update public.users set
    email = null, first_name = null, last_name = null, image_url = null, username = null,
    phone_number = null, email_verified = false, external_id = null,
    public_metadata = '{}', unsafe_metadata = '{}', last_sign_in_at = null,
    deleted_at = p_event_at, clerk_event_at = p_event_at, svix_id = p_svix_id
  where clerk_id = p_clerk_id;
  delete from public.users_private where clerk_id = p_clerk_id;
end;
$$;

comment on function clerk_sync.remove_user(text, timestamptz, text) is
  'Deletes a user''s row, or keeps it with every personal field erased and deleted_at set when the delete mode is soft or an app''s foreign key holds the row.';

create function clerk_sync.apply_user(
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
  v_first_key int;
  v_second_key int;
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
  v_first_key := hashtext(p_clerk_id);
  v_second_key := coalesce(hashtext(v_holder), v_first_key);
  perform pg_advisory_xact_lock(v_user_lock, least(v_first_key, v_second_key));
  if v_first_key <> v_second_key then
    perform pg_advisory_xact_lock(v_user_lock, greatest(v_first_key, v_second_key));
  end if;

  if exists (
    select 1 from clerk_sync.tombstones t where t.entity = 'user' and t.clerk_id = p_clerk_id
  ) then
    return 'stale';
  end if;
  select * into v_stored from public.users u where u.clerk_id = p_clerk_id;

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
    on conflict (clerk_id) do update set private_metadata = excluded.private_metadata;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_user(text, text, timestamptz, text, jsonb) is
  'Applies a user.created, user.updated or user.deleted to public.users and public.users_private; returns applied or stale. Called by public.apply_clerk_event() only.';

-- ---------------------------------------------------------------- the entry point

create function clerk_sync.require_object(p_event_type text, p_object_id text, p_state jsonb)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_object_id is null then
    raise exception '% needs p_object_id', p_event_type using errcode = 'null_value_not_allowed';
  elsif p_state is null and p_event_type not like '%.deleted' then
    raise exception '% needs p_state', p_event_type using errcode = 'null_value_not_allowed';
  end if;
end;
$$;

comment on function clerk_sync.require_object(text, text, jsonb) is
  'Refuses a synced event without its object id, or without its state unless it is a delete.';

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
  -- The synced event types and the apply function of each; any other is ignored.
  case
    when p_event_type in ('user.created', 'user.updated', 'user.deleted') then
      perform clerk_sync.require_object(p_event_type, p_object_id, p_state);
      return clerk_sync.apply_user(p_svix_id, p_event_type, p_event_at, p_object_id, p_state);
    else
      return 'ignored';
  end case;
end;
$$;

comment on function clerk_sync.dispatch(text, text, timestamptz, text, jsonb) is
  'Hands an event to the apply function of its entity; ignored for the types the sync does not keep. Later migrations replace it to add entities.';

create function public.apply_clerk_event(
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
-- A delivery stuck behind a lock fails fast with 55P03 (the function answers 503,
-- so Svix retries) instead of holding the webhook past Svix's 15 s.
set lock_timeout = '3s'
as $$
declare
  v_outcome text;
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
  -- Nor may a call that started in time but finished late (after lock waits) commit.
  if clock_timestamp() > p_deadline then
    raise exception 'Delivery % finished after its deadline %', p_svix_id, p_deadline
      using errcode = 'query_canceled';
  end if;
  return v_outcome;
end;
$$;

comment on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz) is
  'Applies one Clerk webhook delivery atomically; the only writer of the synced tables. p_state is the object''s state as the columns name it (null for deletes). Returns applied, duplicate, stale or ignored.';

-- ---------------------------------------------------------------- the first release's entry point

-- Same signature, grants and answers as in 20261127120000_clerk_user_sync: the
-- function deployed before this migration keeps working until the new one replaces it.
create or replace function public.apply_clerk_user_event(
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
language sql
security definer
set search_path = ''
as $$
  select public.apply_clerk_event(
    p_svix_id, p_event_type, p_event_at, p_clerk_id,
    case when p_event_type in ('user.created', 'user.updated') then jsonb_build_object(
      'email', p_email, 'first_name', p_first_name, 'last_name', p_last_name,
      'image_url', p_image_url, 'clerk_created_at', p_clerk_created_at,
      'clerk_updated_at', p_clerk_updated_at
    ) end,
    p_deadline
  );
$$;

comment on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz) is
  'The first release''s entry point, kept for a function deployed before 20261202090000: applies the five fields it knows through public.apply_clerk_event(), leaving the others as they are.';

-- ---------------------------------------------------------------- security

revoke all on all tables in schema clerk_sync from public, anon, authenticated, service_role;
revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
alter table clerk_sync.tombstones enable row level security;
alter table clerk_sync.delete_modes enable row level security;

revoke all on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)
  from public, anon, authenticated;
grant execute on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)
  to service_role;
