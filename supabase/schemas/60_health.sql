-- Clerk sync health: what the sync has done lately, in one place, so that a stalled or
-- failing sync is noticed before Svix gives up on its messages (about 27.6 hours).
--
--   * clerk_sync.refusals: deliveries the function refused after their signature
--     verified: 422, a body that is not a processable Clerk event; 500, a failure a retry
--     does not fix (a bug, or data the database refuses). A 503 is not one: its retry
--     applies it. The ledger holds only what was applied, stale or ignored; without this
--     table the database cannot see what Svix keeps retrying. Forged requests never
--     reach it.
--   * clerk_sync.backfill_runs: one row per backfill or reconcile run (npm run backfill),
--     with its counts per kind; dry runs change nothing and are not recorded.
--   * public.clerk_sync_status(): the summary npm run status prints, as jsonb. A function
--     rather than a view: it reads clerk_sync, which no API role may read, so it runs as
--     its owner (security definer) and only service_role may execute it (a security
--     definer view is flagged by Supabase's linter; a security invoker one would need
--     grants on clerk_sync).

-- ---------------------------------------------------------------- refusals

create table clerk_sync.refusals (
  svix_id text primary key,
  event_type text,
  status integer not null check (status between 400 and 599),
  reason text,
  first_at timestamptz not null default now(),
  last_at timestamptz not null default now(),
  attempts integer not null default 1 check (attempts >= 1)
);

create index refusals_last_at_idx on clerk_sync.refusals (last_at);

comment on table clerk_sync.refusals is
  'Deliveries the clerk-webhook function refused after verifying their signature, one row per svix-id: Svix retries them for about 27.6 hours. Written by public.record_clerk_refusal().';

comment on column clerk_sync.refusals.svix_id is 'The svix-id header: the same on every retry of one message.';

comment on column clerk_sync.refusals.event_type is 'Clerk event type, when the body named one; null otherwise.';

comment on column clerk_sync.refusals.status is 'The HTTP status the function answered on the latest attempt (422, 500, …).';

comment on column clerk_sync.refusals.reason is 'Why, as the function logged it (at most 1000 characters, never the payload).';

comment on column clerk_sync.refusals.first_at is 'When the first refused attempt was recorded.';

comment on column clerk_sync.refusals.last_at is 'When the latest refused attempt was recorded.';

comment on column clerk_sync.refusals.attempts is 'How many attempts of this message were refused.';

create function public.record_clerk_refusal(
  p_svix_id text,
  p_event_type text,
  p_status integer,
  p_reason text
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_svix_id is null or p_status is null then
    raise exception 'p_svix_id and p_status are required'
      using errcode = 'null_value_not_allowed';
  end if;
  insert into clerk_sync.refusals as r (svix_id, event_type, status, reason)
  values (p_svix_id, p_event_type, p_status, left(p_reason, 1000))
  on conflict (svix_id) do update
    set attempts = r.attempts + 1,
        last_at = now(),
        status = excluded.status,
        reason = excluded.reason,
        event_type = coalesce(excluded.event_type, r.event_type);
end;
$$;

comment on function public.record_clerk_refusal(text, text, integer, text) is
  'Records that the clerk-webhook function refused a delivery whose signature verified (a retry of the same svix-id counts one more attempt). Executable by service_role only.';

create function clerk_sync.prune_refusals(p_older_than interval default interval '30 days')
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_pruned bigint;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception 'Cannot prune refusals with a window of %', p_older_than
      using errcode = 'invalid_parameter_value';
  end if;
  delete from clerk_sync.refusals where last_at < now() - p_older_than;
  get diagnostics v_pruned = row_count;
  return v_pruned;
end;
$$;

comment on function clerk_sync.prune_refusals(interval) is
  'Deletes refusals whose latest attempt is older than the window (default 30 days, as the ledger keeps deliveries) and returns how many.';

create table clerk_sync.backfill_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  mode text not null check (mode in ('backfill', 'reconcile')),
  ok boolean not null,
  counts jsonb not null default '{}' check (jsonb_typeof(counts) = 'object'),
  error text,
  check (finished_at >= started_at)
);

create index backfill_runs_finished_at_idx on clerk_sync.backfill_runs (finished_at);

comment on table clerk_sync.backfill_runs is
  'One row per run of npm run backfill that could change rows (dry runs are not recorded), written at its end by public.record_clerk_backfill_run().';

comment on column clerk_sync.backfill_runs.id is 'The run''s number, in the order runs were recorded.';

comment on column clerk_sync.backfill_runs.started_at is 'When the run started.';

comment on column clerk_sync.backfill_runs.finished_at is 'When the run ended, done or failed.';

comment on column clerk_sync.backfill_runs.mode is 'backfill (create and update rows) or reconcile (also delete the rows of objects Clerk no longer has).';

comment on column clerk_sync.backfill_runs.ok is 'Whether the run finished without an error and without invalid objects.';

comment on column clerk_sync.backfill_runs.counts is 'Per kind (users, organizations, memberships, invitations, …) that the run finished: fetched, applied (created or updated), stale and duplicate (unchanged), deleted, invalid.';

comment on column clerk_sync.backfill_runs.error is 'Why the run failed; null when it did not.';

create function public.record_clerk_backfill_run(
  p_started_at timestamptz,
  p_finished_at timestamptz,
  p_mode text,
  p_ok boolean,
  p_counts jsonb,
  p_error text default null
)
returns bigint
language sql
security definer
set search_path = ''
as $$
  insert into clerk_sync.backfill_runs (started_at, finished_at, mode, ok, counts, error)
  values (p_started_at, p_finished_at, p_mode, p_ok, coalesce(p_counts, '{}'), left(p_error, 1000))
  returning id;
$$;

comment on function public.record_clerk_backfill_run(timestamptz, timestamptz, text, boolean, jsonb, text) is
  'Records one backfill or reconcile run and returns its id; called by npm run backfill at its end. Executable by service_role only.';

create function public.clerk_sync_status()
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

alter table clerk_sync.refusals enable row level security;

alter table clerk_sync.backfill_runs enable row level security;

revoke all on table clerk_sync.refusals, clerk_sync.backfill_runs
  from public, anon, authenticated, service_role;

revoke all on function clerk_sync.prune_refusals(interval)
  from public, anon, authenticated, service_role;

revoke all on function public.record_clerk_refusal(text, text, integer, text)
  from public, anon, authenticated;

revoke all on function public.record_clerk_backfill_run(timestamptz, timestamptz, text, boolean, jsonb, text)
  from public, anon, authenticated;

revoke all on function public.clerk_sync_status()
  from public, anon, authenticated;

grant execute on function public.record_clerk_refusal(text, text, integer, text) to service_role;

grant execute on function public.record_clerk_backfill_run(timestamptz, timestamptz, text, boolean, jsonb, text)
  to service_role;

grant execute on function public.clerk_sync_status() to service_role;
