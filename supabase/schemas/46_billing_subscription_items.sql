-- Clerk Billing subscription items: each plan a payer subscribes to, with its period,
-- public.billing_subscription_items. They arrive alone (subscriptionItem.*) and inside
-- their subscription's events; either way an item's newest updated_at wins, through
-- clerk_sync.keep_subscription_item(). Clerk sends no delete: an item ends by its status.
-- clerk.has_plan() reads them for RLS.

create table public.billing_subscription_items (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  subscription_id text,
  plan_id text,
  plan_slug text,
  plan_name text,
  interval text,
  status text not null,
  is_free_trial boolean not null default false,
  period_start timestamptz,
  period_end timestamptz,
  seats integer,
  payer_user_id text,
  payer_organization_id text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint billing_subscription_items_one_payer
    check (num_nonnulls(payer_user_id, payer_organization_id) = 1)
);

create index billing_subscription_items_payer_user_id_idx
  on public.billing_subscription_items (payer_user_id, plan_slug) where payer_user_id is not null;

create index billing_subscription_items_payer_organization_id_idx
  on public.billing_subscription_items (payer_organization_id, plan_slug)
  where payer_organization_id is not null;

create index billing_subscription_items_subscription_id_idx
  on public.billing_subscription_items (subscription_id);

comment on table public.billing_subscription_items is
  'Clerk Billing subscription items: the plans of each payer''s subscription, with their status and period. Readable by the paying user and the members of the paying organization; clerk.has_plan() reads them for RLS. Written by public.apply_clerk_events() only; Clerk never deletes one.';

comment on column public.billing_subscription_items.id is 'Row id, generated here.';

comment on column public.billing_subscription_items.clerk_id is 'Clerk subscription item id (csub_item_…); the free default plan''s item keeps its id across renewals.';

comment on column public.billing_subscription_items.subscription_id is 'Clerk subscription id (csub_…): joins public.billing_subscriptions.clerk_id.';

comment on column public.billing_subscription_items.plan_id is 'Clerk plan id (cplan_…).';

comment on column public.billing_subscription_items.plan_slug is 'The plan''s slug (pro-plan), what clerk.has_plan() takes.';

comment on column public.billing_subscription_items.plan_name is 'The plan''s display name (Pro Plan).';

comment on column public.billing_subscription_items.interval is 'The billing interval: month or annual.';

comment on column public.billing_subscription_items.status is 'Clerk''s status: active, past_due, upcoming, canceled, ended, abandoned or incomplete.';

comment on column public.billing_subscription_items.is_free_trial is 'Whether the item is in a free trial (its status is then active).';

comment on column public.billing_subscription_items.period_start is 'Start of the current billing period.';

comment on column public.billing_subscription_items.period_end is 'End of the current billing period; null on a free default plan.';

comment on column public.billing_subscription_items.seats is 'Seats the item pays for (seat-based plans); null when the plan has none.';

comment on column public.billing_subscription_items.payer_user_id is 'Clerk user id (user_…) of the paying user; null when an organization pays.';

comment on column public.billing_subscription_items.payer_organization_id is 'Clerk organization id (org_…) of the paying organization; null when a user pays (Clerk sends "" then).';

comment on column public.billing_subscription_items.clerk_created_at is 'When Clerk created the item.';

comment on column public.billing_subscription_items.clerk_updated_at is 'Clerk''s updated_at of the state this row holds, from an item event or its subscription''s; a delivery older than this is stale.';

comment on column public.billing_subscription_items.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.billing_subscription_items.svix_id is 'svix-id of the delivery that wrote this row (an item event or its subscription''s); the last tie-break.';

comment on column public.billing_subscription_items.created_at is 'When this row was first written.';

comment on column public.billing_subscription_items.updated_at is 'When this row was last written (kept by a trigger).';

create trigger billing_subscription_items_touch_updated_at
before update on public.billing_subscription_items
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.subscription_item_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  -- The items of the batch's item events (class 11); those inside subscription events
  -- are clerk_sync.subscription_lock_keys()'.
  if p_class = 11 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in (
        'subscriptionItem.created', 'subscriptionItem.updated', 'subscriptionItem.active',
        'subscriptionItem.canceled', 'subscriptionItem.upcoming', 'subscriptionItem.ended',
        'subscriptionItem.abandoned', 'subscriptionItem.incomplete', 'subscriptionItem.pastDue',
        'subscriptionItem.freeTrialEnding'
      )
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.subscription_item_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (11 subscription items) that the subscription item events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.keep_subscription_item(
  p_svix_id text,
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
  v_stored public.billing_subscription_items;
  v_row public.billing_subscription_items;
begin
  -- Its lock (class 11) is held by the caller's clerk_sync.lock_batch().
  if p_clerk_id is null or v_updated_at is null or p_state ->> 'clerk_created_at' is null
    or p_state ->> 'status' is null
  then
    raise exception 'A subscription item needs clerk_id, status, clerk_created_at and clerk_updated_at'
      using errcode = 'null_value_not_allowed';
  end if;

  select i.* into v_stored from public.billing_subscription_items i where i.clerk_id = p_clerk_id;
  if v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.is_free_trial := coalesce(v_row.is_free_trial, false);
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;
  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.billing_subscription_items select v_row.*;
  else
    update public.billing_subscription_items i set (
      subscription_id, plan_id, plan_slug, plan_name, interval, status, is_free_trial,
      period_start, period_end, seats, payer_user_id, payer_organization_id,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.subscription_id, v_row.plan_id, v_row.plan_slug, v_row.plan_name, v_row.interval,
      v_row.status, v_row.is_free_trial, v_row.period_start, v_row.period_end, v_row.seats,
      v_row.payer_user_id, v_row.payer_organization_id, v_row.clerk_created_at,
      v_row.clerk_updated_at, v_row.clerk_event_at, v_row.svix_id
    )
    where i.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.keep_subscription_item(text, timestamptz, text, jsonb) is
  'Writes one subscription item''s state when it is newer than the stored row (Clerk''s updated_at, then the envelope timestamp, then the svix-id); returns applied or stale. The one writer of public.billing_subscription_items, for item events and the items of subscription events.';

create function clerk_sync.apply_subscription_item(
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
begin
  -- Its locks are held: clerk_sync.subscription_item_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in (
    'subscriptionItem.created', 'subscriptionItem.updated', 'subscriptionItem.active',
    'subscriptionItem.canceled', 'subscriptionItem.upcoming', 'subscriptionItem.ended',
    'subscriptionItem.abandoned', 'subscriptionItem.incomplete', 'subscriptionItem.pastDue',
    'subscriptionItem.freeTrialEnding'
  ) then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;
  return clerk_sync.keep_subscription_item(p_svix_id, p_event_at, p_clerk_id, p_state);
end;
$$;

comment on function clerk_sync.apply_subscription_item(text, text, timestamptz, text, jsonb) is
  'Applies a subscriptionItem.* event (the nine of Clerk''s spec and .created, still in its SDK) to public.billing_subscription_items; returns applied or stale, or ignored for other subscriptionItem.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

create function clerk.has_plan(p_plan_slug text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  -- Statuses that grant the plan: active (free trials included: their status is active);
  -- past_due, a payment Clerk is still retrying: access ends when Clerk gives up and ends
  -- the item, not at the first failed charge (an app that wants that checks status
  -- itself); canceled until its period_end, paid for already (Clerk's published examples:
  -- a canceled item keeps its period_end, and its subscriptionItem.ended comes then).
  -- upcoming does not: it is a plan scheduled to start at period_start (a switch at the
  -- end of the current period), while the current plan's item grants access until then.
  -- ended, abandoned and incomplete do not.
  select exists (
    select 1 from public.billing_subscription_items i
    where i.plan_slug = p_plan_slug
      and (i.status in ('active', 'past_due') or i.status = 'canceled' and i.period_end > now())
      and (
        i.payer_user_id = (select auth.jwt()) ->> 'sub'
        or i.payer_organization_id = (select clerk.org_id())
      )
  );
$$;

comment on function clerk.has_plan(text) is
  'Whether the signed-in user, or the organization active in the session token, has an item of the plan (its slug, pro-plan) that grants access: active (free trials included), past_due (Clerk is still retrying the payment), or canceled until its period_end, from the synced items; the token''s pla claim is the plan when it was issued. In policies: (select clerk.has_plan(''pro-plan'')).';

revoke all on all functions in schema clerk from public;
grant execute on all functions in schema clerk to anon, authenticated, service_role;

alter table public.billing_subscription_items enable row level security;
revoke all on table public.billing_subscription_items
  from public, anon, authenticated, service_role;
grant select on table public.billing_subscription_items to authenticated, service_role;

create policy "payers read their subscription items" on public.billing_subscription_items
for select to authenticated
using (
  payer_user_id = (select auth.jwt()) ->> 'sub'
  or payer_organization_id = any ((select clerk.org_ids())::text[])
);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
