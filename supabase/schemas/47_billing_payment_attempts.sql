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
