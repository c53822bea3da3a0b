-- Clerk waitlist entries: who asked to join while sign-ups are on a waitlist,
-- public.waitlist_entries. An email address of someone who is not (yet) a user: for the
-- app's server only (service_role), no policy for anyone else. Clerk sends no delete.

create table public.waitlist_entries (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  email_address text not null,
  status text not null,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.waitlist_entries is
  'Clerk waitlist entries: who asked to join, and whether they were invited. For the app''s server only (service_role): anon and authenticated cannot read it. Written by public.apply_clerk_events() only; Clerk never deletes one.';

comment on column public.waitlist_entries.id is 'Row id, generated here.';

comment on column public.waitlist_entries.clerk_id is 'Clerk waitlist entry id (wle_…).';

comment on column public.waitlist_entries.email_address is 'The email address that joined the waitlist.';

comment on column public.waitlist_entries.status is 'Clerk''s status: pending, invited, completed or rejected.';

comment on column public.waitlist_entries.clerk_created_at is 'When the address joined the waitlist (Clerk''s created_at).';

comment on column public.waitlist_entries.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.waitlist_entries.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.waitlist_entries.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.waitlist_entries.created_at is 'When this row was first written.';

comment on column public.waitlist_entries.updated_at is 'When this row was last written (kept by a trigger).';

create trigger waitlist_entries_touch_updated_at
before update on public.waitlist_entries
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.waitlist_entry_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_class = 13 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('waitlistEntry.created', 'waitlistEntry.updated')
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.waitlist_entry_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (13 waitlist entries) that the waitlist events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_waitlist_entry(
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
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_stored public.waitlist_entries;
  v_row public.waitlist_entries;
begin
  -- Its locks are held: clerk_sync.waitlist_entry_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('waitlistEntry.created', 'waitlistEntry.updated') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;
  if v_updated_at is null or p_state ->> 'clerk_created_at' is null
    or p_state ->> 'email_address' is null or p_state ->> 'status' is null
  then
    raise exception '% needs email_address, status, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  select w.* into v_stored from public.waitlist_entries w where w.clerk_id = p_clerk_id;
  if v_stored.clerk_id is not null and not (
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
  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.waitlist_entries select v_row.*;
  else
    update public.waitlist_entries w set (
      email_address, status, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.email_address, v_row.status, v_row.clerk_created_at, v_row.clerk_updated_at,
      v_row.clerk_event_at, v_row.svix_id
    )
    where w.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_waitlist_entry(text, text, timestamptz, text, jsonb) is
  'Applies a waitlistEntry.created or .updated to public.waitlist_entries; returns applied or stale, or ignored for other waitlistEntry.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

alter table public.waitlist_entries enable row level security;
revoke all on table public.waitlist_entries from public, anon, authenticated, service_role;
grant select on table public.waitlist_entries to service_role;

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
