-- Clerk users: public.users, the row apps build on, and public.users_private, which only
-- the app's server reads. A user.deleted removes the row, or, when an app's foreign key
-- holds it (or the app chose soft deletes in clerk_sync.delete_modes), keeps it with every
-- personal field erased; either way the tombstone keeps the person from coming back.

-- ---------------------------------------------------------------- tables

-- Columns in the order the deployed tables have them (the first release's, then those
-- of 20261202090000): the apply function writes whole rows, and a table built from this
-- file must match a migrated one column for column.
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
  updated_at timestamptz not null default now(),
  username text,
  phone_number text,
  email_verified boolean not null default false,
  external_id text,
  public_metadata jsonb not null default '{}',
  unsafe_metadata jsonb not null default '{}',
  banned boolean not null default false,
  locked boolean not null default false,
  last_sign_in_at timestamptz,
  deleted_at timestamptz,
  -- Rows of the first release hold its five fields only: format 1.
  sync_format smallint not null default 1
);

create unique index users_email_lower_key on public.users (lower(email)) where email is not null;

comment on table public.users is
  'Clerk users, kept in sync by the clerk-webhook Edge Function. Read-only for the app: every write goes through public.apply_clerk_events(). private_metadata is in public.users_private.';

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

create trigger users_touch_updated_at
before update on public.users
for each row execute function clerk_sync.touch_updated_at();

create table public.users_private (
  clerk_id text primary key references public.users (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.users_private is
  'Clerk private_metadata of each user: for the app''s server only (service_role). anon and authenticated cannot read it, not even their own row. Written by public.apply_clerk_events().';

comment on column public.users_private.clerk_id is 'Clerk user id; the row of public.users it belongs to.';

comment on column public.users_private.private_metadata is 'Clerk private_metadata, set by the app''s backend and never shown to the user; {} when empty.';

insert into clerk_sync.delete_modes (entity, mode) values ('user', 'hard') on conflict (entity) do nothing;

-- ---------------------------------------------------------------- locks

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

-- ---------------------------------------------------------------- apply

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

comment on function clerk_sync.apply_user(text, text, timestamptz, text, jsonb) is
  'Applies a user.created, user.updated or user.deleted to public.users and public.users_private (a delete takes the user''s memberships along); returns applied or stale, or ignored for other user.* events. Called through clerk_sync.dispatch() only.';

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

-- ---------------------------------------------------------------- security

alter table public.users enable row level security;
alter table public.users_private enable row level security;

revoke all on table public.users from public, anon, authenticated, service_role;

grant select on table public.users to authenticated, service_role;

revoke all on table public.users_private from public, anon, authenticated, service_role;

grant select on table public.users_private to service_role;

create policy "users read their own row" on public.users
for select to authenticated
using ((select auth.jwt()) ->> 'sub' = clerk_id);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
