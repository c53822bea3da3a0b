-- Clerk organization domains: which email domains enrol members in which organization,
-- how (enrollment_mode), and whether the domain is verified. organization.deleted takes
-- its domains along. Readable by the members of the organization.

create table public.organization_domains (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  organization_id text not null,
  name text not null,
  enrollment_mode text not null,
  verification_status text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_domains_organization_id_idx
on public.organization_domains (organization_id);

comment on table public.organization_domains is
  'Clerk organization domains (verified domains), kept in sync by the clerk-webhook Edge Function. Readable by the members of the organization. No foreign keys: a domain may arrive before its organization. Written by public.apply_clerk_events() only.';

comment on column public.organization_domains.id is 'Row id, generated here.';

comment on column public.organization_domains.clerk_id is 'Clerk domain id (orgdmn_…).';

comment on column public.organization_domains.organization_id is 'Clerk organization id (org_…): joins public.organizations.clerk_id.';

comment on column public.organization_domains.name is 'The domain name (acme.com).';

comment on column public.organization_domains.enrollment_mode is 'How users of the domain join: manual_invitation, automatic_invitation or automatic_suggestion.';

comment on column public.organization_domains.verification_status is 'The domain''s verification status (verified, unverified), or null when Clerk sends no verification.';

comment on column public.organization_domains.clerk_created_at is 'When Clerk created the domain.';

comment on column public.organization_domains.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_domains.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_domains.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_domains.created_at is 'When this row was first written.';

comment on column public.organization_domains.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_domains_touch_updated_at
before update on public.organization_domains
for each row execute function clerk_sync.touch_updated_at();

-- A domain goes with its organization.
insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'domain', 'public.organization_domains', 'organization_id')
on conflict do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.domain_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- A domain's event takes its organization (class 4), which serializes it with the
  -- organization's delete (a delete names only the domain: its stored organization, which
  -- never changes); then the domains (class 9).
  if p_class = 4 then
    return array(
      select hashtext(b.state ->> 'organization_id') from unnest(p_batch) b
      where b.type in ('organizationDomain.created', 'organizationDomain.updated')
        and b.state ->> 'organization_id' is not null
      union all
      select hashtext(d.organization_id)
      from public.organization_domains d
      join unnest(p_batch) b on d.clerk_id = b.object_id
      where b.type = 'organizationDomain.deleted'
    );
  elsif p_class = 9 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'organizationDomain.created', 'organizationDomain.updated', 'organizationDomain.deleted'
      )
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.domain_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (4 organizations, 9 domains) that the domain events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_domain(
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
  v_updated_at timestamptz := (p_state ->> 'clerk_updated_at')::timestamptz;
  v_found record;
  v_stored public.organization_domains;
  v_row public.organization_domains;
begin
  -- Its locks are held: clerk_sync.domain_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'organizationDomain.created', 'organizationDomain.updated', 'organizationDomain.deleted'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if p_event_type = 'organizationDomain.deleted' then
    -- No updated_at: ordered by the envelope timestamp, as every delete.
    if not clerk_sync.tombstone('domain', p_clerk_id, p_event_at, p_svix_id) then
      return 'stale';
    end if;
    delete from public.organization_domains where clerk_id = p_clerk_id;
    return 'applied';
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or v_org is null
    or p_state ->> 'name' is null or p_state ->> 'enrollment_mode' is null
  then
    raise exception '% needs organization_id, name, enrollment_mode, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- Gone with its organization, or deleted itself: late events are stale. The tombstones
  -- and the stored row in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where (t.entity, t.clerk_id) in (('domain', p_clerk_id), ('organization', v_org))
    ) as gone,
    (select d from public.organization_domains d where d.clerk_id = p_clerk_id) as stored
  into v_found;
  v_stored := v_found.stored;
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

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_domains select v_row.*;
  else
    update public.organization_domains d set (
      organization_id, name, enrollment_mode, verification_status, clerk_created_at,
      clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.name, v_row.enrollment_mode, v_row.verification_status,
      v_row.clerk_created_at, v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where d.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_domain(text, text, timestamptz, text, jsonb) is
  'Applies an organizationDomain.created, .updated or .deleted to public.organization_domains; returns applied or stale, or ignored for other organizationDomain.* events. Called through clerk_sync.dispatch() only.';

alter table public.organization_domains enable row level security;
revoke all on table public.organization_domains from public, anon, authenticated, service_role;
grant select on table public.organization_domains to service_role, authenticated;

create policy "members read the domains of their organizations" on public.organization_domains
for select to authenticated
using (organization_id = any ((select clerk.org_ids())::text[]));

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
