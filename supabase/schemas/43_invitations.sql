-- Clerk organization invitations: who is invited to which organization, with which role,
-- and whether the invitation is still open. Clerk sends no delete and no .expired event:
-- expires_at says when a pending invitation lapses; organization.deleted takes its
-- invitations along. Readable by the members who may manage members.

create table public.organization_invitations (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  organization_id text not null,
  email_address text not null,
  role text not null,
  role_name text,
  status text not null,
  user_id text,
  public_metadata jsonb not null default '{}',
  expires_at timestamptz,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index organization_invitations_organization_id_idx
on public.organization_invitations (organization_id);

comment on table public.organization_invitations is
  'Clerk organization invitations, kept in sync by the clerk-webhook Edge Function. Readable by the members of the organization whose role may manage members (org:sys_memberships:manage, or admin). No foreign keys: an invitation may arrive before its organization. The invitation''s url (it holds the acceptance ticket) is not kept. Written by public.apply_clerk_events() only.';

comment on column public.organization_invitations.id is 'Row id, generated here.';

comment on column public.organization_invitations.clerk_id is 'Clerk invitation id (orginv_…).';

comment on column public.organization_invitations.organization_id is 'Clerk organization id (org_…): joins public.organizations.clerk_id.';

comment on column public.organization_invitations.email_address is 'The invited email address.';

comment on column public.organization_invitations.role is 'Role key the invitee gets, with the org: prefix (org:member).';

comment on column public.organization_invitations.role_name is 'The role''s display name (Member).';

comment on column public.organization_invitations.status is 'pending, accepted or revoked as Clerk last sent it (Clerk sends no event when an invitation expires: a pending one is expired once expires_at has passed).';

comment on column public.organization_invitations.user_id is 'Clerk user id of the invitee once accepted; else null.';

comment on column public.organization_invitations.public_metadata is 'Clerk public_metadata of the invitation; {} when empty.';

comment on column public.organization_invitations.expires_at is 'When the invitation lapses, or null; a pending invitation past it is expired.';

comment on column public.organization_invitations.clerk_created_at is 'When Clerk created the invitation.';

comment on column public.organization_invitations.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.organization_invitations.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.organization_invitations.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.organization_invitations.created_at is 'When this row was first written.';

comment on column public.organization_invitations.updated_at is 'When this row was last written (kept by a trigger).';

create trigger organization_invitations_touch_updated_at
before update on public.organization_invitations
for each row execute function clerk_sync.touch_updated_at();

create table public.organization_invitations_private (
  clerk_id text primary key references public.organization_invitations (clerk_id) on delete cascade,
  private_metadata jsonb not null default '{}'
);

comment on table public.organization_invitations_private is
  'Clerk private_metadata of each invitation: for the app''s server only (service_role).';

comment on column public.organization_invitations_private.clerk_id is 'Clerk invitation id.';

comment on column public.organization_invitations_private.private_metadata is 'Clerk private_metadata; {} when empty.';

-- An invitation goes with its organization.
insert into clerk_sync.cascades (parent, child, child_table, parent_column) values
  ('organization', 'invitation', 'public.organization_invitations', 'organization_id')
on conflict do nothing;

-- ---------------------------------------------------------------- locks

create function clerk_sync.invitation_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- An invitation's state takes its organization (class 4), which serializes it with the
  -- organization's delete; then the invitations (class 5).
  if p_class = 4 then
    return array(
      select hashtext(b.state ->> 'organization_id') from unnest(p_batch) b
      where b.type like 'organizationInvitation.%' and b.state ->> 'organization_id' is not null
    );
  elsif p_class = 5 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'organizationInvitation.created', 'organizationInvitation.accepted',
        'organizationInvitation.revoked'
      )
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.invitation_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (4 organizations, 5 invitations) that the invitation events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_invitation(
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
  v_stored public.organization_invitations;
  v_row public.organization_invitations;
begin
  -- Its locks are held: clerk_sync.invitation_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'organizationInvitation.created', 'organizationInvitation.accepted',
    'organizationInvitation.revoked'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;

  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or v_org is null
    or p_state ->> 'email_address' is null or p_state ->> 'role' is null
    or p_state ->> 'status' is null
  then
    raise exception '% needs organization_id, email_address, role, status, clerk_created_at and clerk_updated_at in p_state',
      p_event_type using errcode = 'null_value_not_allowed';
  end if;

  -- Gone with its organization: late events are stale. The tombstones and the stored row
  -- in one read.
  select
    exists (
      select 1 from clerk_sync.tombstones t
      where (t.entity, t.clerk_id) in (('invitation', p_clerk_id), ('organization', v_org))
    ) as gone,
    (select i from public.organization_invitations i where i.clerk_id = p_clerk_id) as stored
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
  v_row.public_metadata := coalesce(v_row.public_metadata, '{}');

  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.organization_invitations select v_row.*;
  else
    update public.organization_invitations i set (
      organization_id, email_address, role, role_name, status, user_id, public_metadata,
      expires_at, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.organization_id, v_row.email_address, v_row.role, v_row.role_name, v_row.status,
      v_row.user_id, v_row.public_metadata, v_row.expires_at, v_row.clerk_created_at,
      v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where i.clerk_id = p_clerk_id;
  end if;
  perform clerk_sync.keep_private_metadata(
    'public.organization_invitations_private', p_clerk_id, p_state
  );
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_invitation(text, text, timestamptz, text, jsonb) is
  'Applies an organizationInvitation.created, .accepted or .revoked to public.organization_invitations and its _private table (an invitation is removed only with its organization); returns applied or stale, or ignored for other organizationInvitation.* events. Called through clerk_sync.dispatch() only.';

alter table public.organization_invitations enable row level security;
alter table public.organization_invitations_private enable row level security;
revoke all on table public.organization_invitations, public.organization_invitations_private
  from public, anon, authenticated, service_role;
grant select on table public.organization_invitations, public.organization_invitations_private
  to service_role;
grant select on table public.organization_invitations to authenticated;

create policy "members who manage members read their organizations' invitations"
on public.organization_invitations
for select to authenticated
using (
  clerk.is_org_member(organization_id, 'admin')
  or clerk.is_org_member(organization_id, null, 'org:sys_memberships:manage')
);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
