-- Clerk Billing subscriptions: the one subscription of each payer (a user or an
-- organization), public.billing_subscriptions. Clerk sends no delete: a subscription
-- ends by its status. Its events carry its items, which clerk_sync.apply_subscription()
-- applies to public.billing_subscription_items by each item's own order
-- (46_billing_subscription_items.sql). No foreign keys: a subscription may arrive before
-- its payer.

create table public.billing_subscriptions (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  status text not null,
  payer_user_id text,
  payer_organization_id text,
  active_at timestamptz,
  past_due_at timestamptz,
  canceled_at timestamptz,
  ended_at timestamptz,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint billing_subscriptions_one_payer
    check (num_nonnulls(payer_user_id, payer_organization_id) = 1)
);

create index billing_subscriptions_payer_user_id_idx
  on public.billing_subscriptions (payer_user_id) where payer_user_id is not null;

create index billing_subscriptions_payer_organization_id_idx
  on public.billing_subscriptions (payer_organization_id) where payer_organization_id is not null;

comment on table public.billing_subscriptions is
  'Clerk Billing subscriptions: one per paying user or organization, its plans in public.billing_subscription_items. Readable by the paying user and the members of the paying organization. Written by public.apply_clerk_events() only; Clerk never deletes one.';

comment on column public.billing_subscriptions.id is 'Row id, generated here.';

comment on column public.billing_subscriptions.clerk_id is 'Clerk subscription id (csub_…).';

comment on column public.billing_subscriptions.status is 'Clerk''s status: active, past_due, canceled, ended, abandoned or incomplete.';

comment on column public.billing_subscriptions.payer_user_id is 'Clerk user id (user_…) of the paying user; null when an organization pays.';

comment on column public.billing_subscriptions.payer_organization_id is 'Clerk organization id (org_…) of the paying organization; null when a user pays (Clerk sends "" then).';

comment on column public.billing_subscriptions.active_at is 'When the subscription last became active; null if never.';

comment on column public.billing_subscriptions.past_due_at is 'When a payment of it became past due; null when none is.';

comment on column public.billing_subscriptions.canceled_at is 'When it was canceled; null if it was not.';

comment on column public.billing_subscriptions.ended_at is 'When it ended; null if it has not.';

comment on column public.billing_subscriptions.clerk_created_at is 'When Clerk created the subscription.';

comment on column public.billing_subscriptions.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.billing_subscriptions.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.billing_subscriptions.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.billing_subscriptions.created_at is 'When this row was first written.';

comment on column public.billing_subscriptions.updated_at is 'When this row was last written (kept by a trigger).';

create trigger billing_subscriptions_touch_updated_at
before update on public.billing_subscriptions
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.subscription_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- The subscriptions (class 10), then the items they carry (class 11), which
  -- clerk_sync.apply_subscription() writes as item events do.
  if p_class = 10 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'subscription.created', 'subscription.updated', 'subscription.active',
        'subscription.pastDue'
      )
    );
  elsif p_class = 11 then
    return array(
      select hashtext(i.item ->> 'clerk_id')
      from unnest(p_batch) b
      cross join lateral jsonb_array_elements(
        case when jsonb_typeof(b.state -> 'items') = 'array' then b.state -> 'items' else '[]' end
      ) as i(item)
      where b.type in (
        'subscription.created', 'subscription.updated', 'subscription.active',
        'subscription.pastDue'
      )
        and i.item ->> 'clerk_id' is not null
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.subscription_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (10 subscriptions, 11 the subscription items they carry) that the subscription events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_subscription(
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
  v_stored public.billing_subscriptions;
  v_row public.billing_subscriptions;
  v_outcome text := 'stale';
  v_item jsonb;
begin
  -- Its locks are held: clerk_sync.subscription_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'subscription.created', 'subscription.updated', 'subscription.active', 'subscription.pastDue'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;
  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or p_state ->> 'status' is null
  then
    raise exception '% needs status, clerk_created_at and clerk_updated_at in p_state', p_event_type
      using errcode = 'null_value_not_allowed';
  end if;

  select s.* into v_stored from public.billing_subscriptions s where s.clerk_id = p_clerk_id;
  if v_stored.clerk_id is null or
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  then
    v_row := jsonb_populate_record(v_stored, p_state);
    v_row.clerk_id := p_clerk_id;
    v_row.clerk_event_at := p_event_at;
    v_row.svix_id := p_svix_id;
    if v_stored.clerk_id is null then
      v_row.id := gen_random_uuid();
      v_row.created_at := now();
      v_row.updated_at := now();
      insert into public.billing_subscriptions select v_row.*;
    else
      update public.billing_subscriptions s set (
        status, payer_user_id, payer_organization_id, active_at, past_due_at, canceled_at,
        ended_at, clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
      ) = (
        v_row.status, v_row.payer_user_id, v_row.payer_organization_id, v_row.active_at,
        v_row.past_due_at, v_row.canceled_at, v_row.ended_at, v_row.clerk_created_at,
        v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
      )
      where s.clerk_id = p_clerk_id;
    end if;
    v_outcome := 'applied';
  end if;

  -- Each item it carries by the item's own order, whether the subscription's state is
  -- newer or not: an item's newest updated_at wins however it arrives.
  for v_item in
    select i.item from jsonb_array_elements(
      case when jsonb_typeof(p_state -> 'items') = 'array' then p_state -> 'items' else '[]' end
    ) as i(item)
  loop
    if clerk_sync.keep_subscription_item(p_svix_id, p_event_at, v_item ->> 'clerk_id', v_item)
      = 'applied'
    then
      v_outcome := 'applied';
    end if;
  end loop;
  return v_outcome;
end;
$$;

comment on function clerk_sync.apply_subscription(text, text, timestamptz, text, jsonb) is
  'Applies a subscription.created, .updated, .active or .pastDue to public.billing_subscriptions and each item it carries to public.billing_subscription_items (clerk_sync.keep_subscription_item()); returns applied when any of them was newer than the stored row, else stale; ignored for other subscription.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

alter table public.billing_subscriptions enable row level security;
revoke all on table public.billing_subscriptions from public, anon, authenticated, service_role;
grant select on table public.billing_subscriptions to authenticated, service_role;

create policy "payers read their subscription" on public.billing_subscriptions
for select to authenticated
using (
  payer_user_id = (select auth.jwt()) ->> 'sub'
  or payer_organization_id = any ((select clerk.org_ids())::text[])
);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
