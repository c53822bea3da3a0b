-- Clerk Billing and the waitlist (issue 20): four entities, each with its table, lock keys
-- and apply function, named once in clerk_sync.dispatch() and clerk_sync.lock_batch().
--
--   * public.billing_subscriptions (subscription.created/updated/active/pastDue), lock
--     class 10; a subscription's events carry its items, applied by each item's own
--     order through clerk_sync.keep_subscription_item();
--   * public.billing_subscription_items (every subscriptionItem.* event, .created
--     included), lock class 11; clerk.has_plan(plan_slug) reads them for RLS;
--   * public.billing_payment_attempts (paymentAttempt.created/updated), lock class 12;
--   * public.waitlist_entries (waitlistEntry.created/updated), lock class 13, for
--     service_role only.
--   * public.clerk_sync_status() counts the rows of the four tables (rows).
--
-- Clerk sends no delete for any of them, and none has private metadata. A payer is a
-- user or an organization, never both (Clerk sends a user payer's organization_id as "").
-- The billing tables are readable by the paying user and the members of the paying
-- organization (payment attempts: the members who may manage billing). The definitions
-- are those of supabase/schemas/45_billing_subscriptions.sql to 48_waitlist.sql, and of
-- 50_entry_point.sql for the entry point.

-- ================================================================ billing_subscriptions

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

-- ================================================================ billing_subscription_items

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

-- ================================================================ billing_payment_attempts

-- Clerk Billing payment attempts: each charge of a payer, checkout or recurring, with its
-- outcome, public.billing_payment_attempts. Clerk sends no delete. Only what an app shows
-- or acts on is kept: the payment source, the payee and the line items are not.

create table public.billing_payment_attempts (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique,
  status text not null,
  payer_user_id text,
  payer_organization_id text,
  subtotal_amount bigint,
  tax_amount bigint,
  total_amount bigint,
  currency text,
  paid_at timestamptz,
  failed_at timestamptz,
  failed_reason jsonb,
  charge_type text,
  clerk_created_at timestamptz not null,
  clerk_updated_at timestamptz not null,
  clerk_event_at timestamptz not null,
  svix_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint billing_payment_attempts_one_payer
    check (num_nonnulls(payer_user_id, payer_organization_id) = 1)
);

create index billing_payment_attempts_payer_user_id_idx
  on public.billing_payment_attempts (payer_user_id) where payer_user_id is not null;

create index billing_payment_attempts_payer_organization_id_idx
  on public.billing_payment_attempts (payer_organization_id)
  where payer_organization_id is not null;

comment on table public.billing_payment_attempts is
  'Clerk Billing payment attempts: each charge of a payer and its outcome. Readable by the paying user and by the members of the paying organization whose role may manage billing (org:sys_billing:manage). Written by public.apply_clerk_events() only; Clerk never deletes one.';

comment on column public.billing_payment_attempts.id is 'Row id, generated here.';

comment on column public.billing_payment_attempts.clerk_id is 'Clerk payment attempt id (pa_…).';

comment on column public.billing_payment_attempts.status is 'Clerk''s status: pending, paid or failed.';

comment on column public.billing_payment_attempts.payer_user_id is 'Clerk user id (user_…) of the paying user; null when an organization pays.';

comment on column public.billing_payment_attempts.payer_organization_id is 'Clerk organization id (org_…) of the paying organization; null when a user pays.';

comment on column public.billing_payment_attempts.subtotal_amount is 'Subtotal, in the currency''s minor unit (cents); null when Clerk sent no totals.';

comment on column public.billing_payment_attempts.tax_amount is 'Tax, in the currency''s minor unit.';

comment on column public.billing_payment_attempts.total_amount is 'Grand total charged, in the currency''s minor unit.';

comment on column public.billing_payment_attempts.currency is 'Currency of the amounts (USD).';

comment on column public.billing_payment_attempts.paid_at is 'When the charge succeeded; null unless paid.';

comment on column public.billing_payment_attempts.failed_at is 'When the charge failed; null unless failed.';

comment on column public.billing_payment_attempts.failed_reason is 'Why the charge failed, as Clerk sent it (text or an object); null unless failed.';

comment on column public.billing_payment_attempts.charge_type is 'checkout (a first purchase) or recurring (a renewal).';

comment on column public.billing_payment_attempts.clerk_created_at is 'When Clerk created the attempt.';

comment on column public.billing_payment_attempts.clerk_updated_at is 'Clerk''s updated_at of the state this row holds; a delivery older than this is stale.';

comment on column public.billing_payment_attempts.clerk_event_at is 'Envelope timestamp of the event that wrote this row; breaks ties between equal clerk_updated_at.';

comment on column public.billing_payment_attempts.svix_id is 'svix-id of the delivery that wrote this row; the last tie-break.';

comment on column public.billing_payment_attempts.created_at is 'When this row was first written.';

comment on column public.billing_payment_attempts.updated_at is 'When this row was last written (kept by a trigger).';

create trigger billing_payment_attempts_touch_updated_at
before update on public.billing_payment_attempts
for each row execute function clerk_sync.touch_updated_at();

-- ---------------------------------------------------------------- locks

create function clerk_sync.payment_attempt_lock_keys(p_batch clerk_sync.delivery[], p_class int)
returns int[]
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_class = 12 then
    return array(
      select hashtext(b.object_id) from unnest(p_batch) b
      where b.type in ('paymentAttempt.created', 'paymentAttempt.updated')
    );
  end if;
  return '{}'::int[];
end;
$$;

comment on function clerk_sync.payment_attempt_lock_keys(clerk_sync.delivery[], integer) is
  'The advisory lock keys of class p_class (12 payment attempts) that the payment attempt events of a batch need, taken by clerk_sync.lock_batch() for a batch or a delivery alone.';

-- ---------------------------------------------------------------- apply

create function clerk_sync.apply_payment_attempt(
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
  v_stored public.billing_payment_attempts;
  v_row public.billing_payment_attempts;
begin
  -- Its locks are held: clerk_sync.payment_attempt_lock_keys(), through clerk_sync.lock_batch().
  if p_event_type not in ('paymentAttempt.created', 'paymentAttempt.updated') then
    return 'ignored';
  elsif p_clerk_id is null or p_state is null then
    perform clerk_sync.require_object(p_event_type, p_clerk_id, p_state);
  end if;
  if v_updated_at is null or p_state ->> 'clerk_created_at' is null or p_state ->> 'status' is null
  then
    raise exception '% needs status, clerk_created_at and clerk_updated_at in p_state', p_event_type
      using errcode = 'null_value_not_allowed';
  end if;

  select a.* into v_stored from public.billing_payment_attempts a where a.clerk_id = p_clerk_id;
  if v_stored.clerk_id is not null and not (
    row(v_updated_at, p_event_at, p_svix_id)::clerk_sync.version
      > row(v_stored.clerk_updated_at, v_stored.clerk_event_at, v_stored.svix_id)::clerk_sync.version
  )
  then
    return 'stale';
  end if;

  v_row := jsonb_populate_record(v_stored, p_state);
  v_row.clerk_id := p_clerk_id;
  v_row.failed_reason := nullif(p_state -> 'failed_reason', 'null');
  v_row.clerk_event_at := p_event_at;
  v_row.svix_id := p_svix_id;
  if v_stored.clerk_id is null then
    v_row.id := gen_random_uuid();
    v_row.created_at := now();
    v_row.updated_at := now();
    insert into public.billing_payment_attempts select v_row.*;
  else
    update public.billing_payment_attempts a set (
      status, payer_user_id, payer_organization_id, subtotal_amount, tax_amount, total_amount,
      currency, paid_at, failed_at, failed_reason, charge_type, clerk_created_at,
      clerk_updated_at, clerk_event_at, svix_id
    ) = (
      v_row.status, v_row.payer_user_id, v_row.payer_organization_id, v_row.subtotal_amount,
      v_row.tax_amount, v_row.total_amount, v_row.currency, v_row.paid_at, v_row.failed_at,
      v_row.failed_reason, v_row.charge_type, v_row.clerk_created_at, v_row.clerk_updated_at,
      v_row.clerk_event_at, v_row.svix_id
    )
    where a.clerk_id = p_clerk_id;
  end if;
  return 'applied';
end;
$$;

comment on function clerk_sync.apply_payment_attempt(text, text, timestamptz, text, jsonb) is
  'Applies a paymentAttempt.created or .updated to public.billing_payment_attempts; returns applied or stale, or ignored for other paymentAttempt.* events. Called through clerk_sync.dispatch() only.';

-- ---------------------------------------------------------------- access

alter table public.billing_payment_attempts enable row level security;
revoke all on table public.billing_payment_attempts from public, anon, authenticated, service_role;
grant select on table public.billing_payment_attempts to authenticated, service_role;

create policy "payers and billing managers read payment attempts" on public.billing_payment_attempts
for select to authenticated
using (
  payer_user_id = (select auth.jwt()) ->> 'sub'
  or clerk.is_org_member(payer_organization_id, null, 'org:sys_billing:manage')
);

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;

-- ================================================================ waitlist

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

-- ---------------------------------------------------------------- the entry point

create or replace function clerk_sync.dispatch(
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

create or replace function clerk_sync.lock_batch(p_batch clerk_sync.delivery[])
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

create or replace function public.clerk_sync_schema_version()
returns text
language sql
stable
set search_path = ''
as $$
  select '20261205110000'::text;
$$;

-- ---------------------------------------------------------------- health: the rows of the new tables

create or replace function public.clerk_sync_status()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  -- Webhook deliveries only: the backfill's (backfill:…, reconcile:…) are its run log's, and
  -- what a user's own /sync applied (sync:…) came from Clerk's API, not from a webhook.
  with webhook as (
    select d.event_type, d.outcome, d.event_at, d.received_at
    from clerk_sync.deliveries d
    where d.svix_id not like 'backfill:%' and d.svix_id not like 'reconcile:%'
      and d.svix_id not like 'sync:%'
  ),
  windows (name, since) as (
    values ('last_hour', now() - interval '1 hour'), ('last_day', now() - interval '1 day')
  )
  select jsonb_build_object(
    'checked_at', now(),
    'users', (select count(*) from public.users u where u.deleted_at is null),
    'rows', jsonb_build_object(
      'organizations', (select count(*) from public.organizations o where o.deleted_at is null),
      'memberships', (select count(*) from public.organization_memberships),
      'invitations', (select count(*) from public.organization_invitations),
      'open_invitations', (
        select count(*) from public.organization_invitations i
        where i.status = 'pending' and (i.expires_at is null or i.expires_at > now())
      ),
      'roles', (select count(*) from public.organization_roles),
      'permissions', (select count(*) from public.organization_permissions),
      'domains', (select count(*) from public.organization_domains),
      'subscriptions', (select count(*) from public.billing_subscriptions),
      'subscription_items', (select count(*) from public.billing_subscription_items),
      'payment_attempts', (select count(*) from public.billing_payment_attempts),
      'waitlist_entries', (select count(*) from public.waitlist_entries)
    ),
    'deliveries', (
      select jsonb_object_agg(w.name, jsonb_build_object(
        'applied', (select count(*) from webhook where outcome = 'applied' and received_at >= w.since),
        'stale', (select count(*) from webhook where outcome = 'stale' and received_at >= w.since),
        'ignored', (select count(*) from webhook where outcome = 'ignored' and received_at >= w.since),
        'refused', (select count(*) from clerk_sync.refusals r where r.last_at >= w.since)
      ))
      from windows w
    ),
    'last_delivery_at', (select max(received_at) from webhook),
    'last_by_type', (
      select coalesce(jsonb_object_agg(t.event_type, jsonb_build_object(
        'received_at', t.received_at, 'event_at', t.event_at
      )), '{}')
      from (
        select event_type, max(received_at) as received_at, max(event_at) as event_at
        from webhook group by event_type
      ) t
    ),
    'refusals', jsonb_build_object(
      'total', (select count(*) from clerk_sync.refusals),
      'recent', (
        select coalesce(jsonb_agg(jsonb_build_object(
          'svix_id', r.svix_id, 'event_type', r.event_type, 'status', r.status,
          'reason', r.reason, 'first_at', r.first_at, 'last_at', r.last_at,
          'attempts', r.attempts,
          'delivered_since', exists (
            select 1 from clerk_sync.deliveries d where d.svix_id = r.svix_id
          )
        ) order by r.last_at desc, r.svix_id), '[]')
        from (
          select * from clerk_sync.refusals order by last_at desc, svix_id limit 10
        ) r
      )
    ),
    'last_run', (
      select jsonb_build_object(
        'id', b.id, 'started_at', b.started_at, 'finished_at', b.finished_at,
        'mode', b.mode, 'ok', b.ok, 'counts', b.counts, 'error', b.error
      )
      from clerk_sync.backfill_runs b
      order by b.finished_at desc, b.id desc
      limit 1
    ),
    'ledger', jsonb_build_object(
      'entries', (select count(*) from clerk_sync.deliveries),
      'oldest_at', (select min(received_at) from clerk_sync.deliveries)
    )
  );
$$;

comment on function public.clerk_sync_status() is
  'The sync''s health as jsonb (what npm run status prints): live users; the rows of the other synced tables (organizations, memberships, invitations and the open ones: pending and not expired, roles, permissions, domains, billing subscriptions, subscription items, payment attempts, waitlist entries); webhook deliveries by outcome (applied, stale, ignored; duplicates are not recorded) and refusals over the last hour and day; the last delivery of each event type; recent refusals; the last backfill run; the ledger''s size and oldest entry. Executable by service_role only.';

revoke all on all functions in schema clerk_sync from public, anon, authenticated, service_role;
