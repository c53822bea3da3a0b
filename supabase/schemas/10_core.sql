-- The sync's core: its schemas, the ledger of deliveries, tombstones, delete modes and
-- cascades, the order of Clerk states, and the helpers every entity's apply function uses.
--
-- An entity (users, organizations, memberships, …) is one file here: its tables, its
-- lock keys, its apply function, and the rows it adds to clerk_sync.delete_modes and
-- clerk_sync.cascades; 50_entry_point.sql names it once in clerk_sync.dispatch() and once
-- in clerk_sync.lock_batch(). Lock classes, in the one global order every writer follows:
-- ledger rows by svix-id, then advisory locks by class and key: emails 1, users 2, slugs 3,
-- organizations 4, memberships 6, billing subscriptions 10, subscription items 11, payment
-- attempts 12, waitlist entries 13.
--
-- This directory holds the current definition of every object of clerk-webhook-sync, one
-- file per concern, applied in name order; supabase/migrations holds the deploy history
-- that brings a database to it. tests/schema_test.ts builds a database from each and
-- compares their catalogs: a change to one without the other fails it.

-- ---------------------------------------------------------------- schemas

create schema if not exists clerk_sync;

comment on schema clerk_sync is
  'Bookkeeping of the Clerk webhook sync: processed deliveries, tombstones, delete modes and cascades. Not exposed through the Data API.';

revoke all on schema clerk_sync from public, anon, authenticated, service_role;

create schema clerk;

comment on schema clerk is
  'Helpers for RLS policies over the Clerk session token and the synced memberships. Not exposed through the Data API.';

grant usage on schema clerk to anon, authenticated, service_role;

-- ---------------------------------------------------------------- the ledger

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

comment on column clerk_sync.deliveries.clerk_id is
  'Clerk id of the object the event is about; null for events that are not synced.';

comment on column clerk_sync.deliveries.event_at is 'Envelope timestamp of the event.';

comment on column clerk_sync.deliveries.outcome is
  'What the delivery did: applied, stale (older than the stored state) or ignored (an event type that is not synced).';

comment on column clerk_sync.deliveries.received_at is 'When the delivery was first processed.';

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

-- ---------------------------------------------------------------- tombstones and delete modes

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

comment on column clerk_sync.tombstones.entity is 'Which kind of Clerk object: user, organization, membership, invitation, role, permission or domain.';

comment on column clerk_sync.tombstones.clerk_id is 'The deleted object''s Clerk id.';

comment on column clerk_sync.tombstones.deleted_at is 'Envelope timestamp of the delete event.';

comment on column clerk_sync.tombstones.svix_id is 'svix-id of the delete delivery (or reconcile:<id> when the backfill''s reconcile deleted it).';

comment on column clerk_sync.tombstones.recorded_at is 'When the tombstone was written.';

create table clerk_sync.delete_modes (
  entity text primary key,
  mode text not null check (mode in ('hard', 'soft'))
);

comment on table clerk_sync.delete_modes is
  'How a Clerk delete event treats the row: hard removes it (kept, erased, only while a foreign key of the app holds it); soft always keeps it, erased, with deleted_at set. Change with: update clerk_sync.delete_modes set mode = ''soft'' where entity = ''user''.';

comment on column clerk_sync.delete_modes.entity is 'Which kind of Clerk object: user or organization.';

comment on column clerk_sync.delete_modes.mode is 'hard (the default) or soft.';

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

-- ---------------------------------------------------------------- ordering and bookkeeping

create type clerk_sync.version as (
  clerk_updated_at timestamptz,
  clerk_event_at timestamptz,
  svix_id text collate "C"
);

comment on type clerk_sync.version is
  'The order of Clerk states, the one comparison every apply function uses: Clerk''s updated_at, then the envelope timestamp, then the svix-id in byte order. Compare row(…)::clerk_sync.version values with > (a native comparison, unlike a function call with its own search_path).';

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

create type clerk_sync.delivery as (
  svix_id text,
  type text,
  event_at timestamptz,
  object_id text,
  state jsonb
);

comment on type clerk_sync.delivery is
  'One delivery of a batch, as public.apply_clerk_events() takes it in JSON: {svix_id, type, event_at, object_id, state}.';

-- ---------------------------------------------------------------- session token helpers

create function clerk.user_id()
returns text
language sql
stable
set search_path = ''
as $$
  select (select auth.jwt()) ->> 'sub';
$$;

comment on function clerk.user_id() is
  'The signed-in Clerk user id (the token''s sub), or null. In policies: (select clerk.user_id()).';

create function clerk.org_id()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce((select auth.jwt()) -> 'o' ->> 'id', (select auth.jwt()) ->> 'org_id');
$$;

comment on function clerk.org_id() is
  'The organization active in the caller''s Clerk session token (v2 o.id, v1 org_id), or null. In policies: (select clerk.org_id()).';

-- ---------------------------------------------------------------- security

revoke all on all functions in schema clerk from public;
grant execute on all functions in schema clerk to anon, authenticated, service_role;

alter table clerk_sync.deliveries enable row level security;
alter table clerk_sync.tombstones enable row level security;
alter table clerk_sync.delete_modes enable row level security;
alter table clerk_sync.cascades enable row level security;

revoke all on all tables in schema clerk_sync from public, anon, authenticated, service_role;
revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
