-- Billing and the waitlist: who reads what (the paying user, members of the paying
-- organization, its billing managers, others, anon, service_role), and clerk.has_plan()
-- with v2 and v1 session tokens, gating an app's table.

begin;
select plan(62);

create function pg_temp.item(
  p_user text, p_org text, p_slug text, p_status text,
  p_trial boolean default false, p_updated_at timestamptz default '2026-01-01 10:00:00+00'
) returns jsonb language sql as $$
  select jsonb_build_object('subscription_id', 'csub_' || coalesce(p_user, p_org),
    'plan_id', 'cplan_' || p_slug, 'plan_slug', p_slug, 'plan_name', initcap(p_slug),
    'interval', 'month', 'status', p_status, 'is_free_trial', p_trial,
    'period_start', '2026-01-01 00:00:00+00', 'period_end', '2026-02-01 00:00:00+00',
    'seats', null, 'payer_user_id', p_user, 'payer_organization_id', p_org,
    'clerk_created_at', '2026-01-01 09:00:00+00', 'clerk_updated_at', p_updated_at);
$$;
create function pg_temp.subscription(p_user text, p_org text) returns jsonb language sql as $$
  select jsonb_build_object('status', 'active', 'payer_user_id', p_user,
    'payer_organization_id', p_org, 'active_at', '2026-01-01 09:00:00+00', 'items', '[]'::jsonb,
    'clerk_created_at', '2026-01-01 09:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00');
$$;
create function pg_temp.attempt(p_user text, p_org text) returns jsonb language sql as $$
  select jsonb_build_object('status', 'paid', 'payer_user_id', p_user,
    'payer_organization_id', p_org, 'total_amount', 2200, 'currency', 'USD',
    'paid_at', '2026-01-01 10:00:00+00', 'charge_type', 'checkout',
    'clerk_created_at', '2026-01-01 09:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00');
$$;
create function pg_temp.member(p_org text, p_user text, p_role text, p_permissions text[])
returns jsonb language sql as $$
  select jsonb_build_object('organization_id', p_org, 'user_id', p_user, 'role', p_role,
    'permissions', to_jsonb(p_permissions), 'public_metadata', '{}'::jsonb,
    'clerk_created_at', '2026-01-01 10:00:00+00', 'clerk_updated_at', '2026-01-01 10:00:00+00');
$$;

select is(tests.deliver(d.svix_id, d.type, '2026-01-01 10:00:01+00', d.object_id, d.state), 'applied',
  d.description)
from (values
  ('msg_m1', 'organizationMembership.created', 'orgmem_alice_a',
    pg_temp.member('org_a', 'user_alice', 'org:admin', array['org:sys_billing:manage']),
    'Seed: alice manages org_a''s billing.'),
  ('msg_m2', 'organizationMembership.created', 'orgmem_bob_a',
    pg_temp.member('org_a', 'user_bob', 'org:member', array['org:sys_memberships:read']),
    'Seed: bob is a plain member of org_a.'),
  ('msg_m3', 'organizationMembership.created', 'orgmem_carol_b',
    pg_temp.member('org_b', 'user_carol', 'org:admin', array['org:sys_billing:manage']),
    'Seed: carol manages org_b''s billing.'),
  ('msg_s1', 'subscription.created', 'csub_user_alice',
    pg_temp.subscription('user_alice', null)
      || jsonb_build_object('items', jsonb_build_array(
        pg_temp.item('user_alice', null, 'pro', 'active') || '{"clerk_id": "csub_item_alice"}')),
    'Seed: alice pays for pro, its item inside her subscription.'),
  ('msg_s2', 'subscription.created', 'csub_org_a', pg_temp.subscription(null, 'org_a'),
    'Seed: org_a has a subscription.'),
  ('msg_i2', 'subscriptionItem.active', 'csub_item_org_a', pg_temp.item(null, 'org_a', 'team', 'active'),
    'Seed: org_a pays for team.'),
  ('msg_i3', 'subscriptionItem.pastDue', 'csub_item_dave', pg_temp.item('user_dave', null, 'pro', 'past_due'),
    'Seed: dave''s pro is past due.'),
  ('msg_i4', 'subscriptionItem.upcoming', 'csub_item_erin', pg_temp.item('user_erin', null, 'pro', 'upcoming'),
    'Seed: erin''s pro is upcoming.'),
  ('msg_i5', 'subscriptionItem.freeTrialEnding', 'csub_item_frank',
    pg_temp.item('user_frank', null, 'pro', 'active', true), 'Seed: frank is on a pro free trial.'),
  ('msg_i6', 'subscriptionItem.canceled', 'csub_item_gina', pg_temp.item('user_gina', null, 'pro', 'canceled'),
    'Seed: gina canceled pro.'),
  ('msg_i8', 'subscriptionItem.canceled', 'csub_item_hank',
    pg_temp.item('user_hank', null, 'pro', 'canceled')
      || jsonb_build_object('period_end', now() + interval '10 days'),
    'Seed: hank canceled pro, paid until ten days from now.'),
  ('msg_p1', 'paymentAttempt.created', 'pa_alice', pg_temp.attempt('user_alice', null),
    'Seed: alice paid.'),
  ('msg_p2', 'paymentAttempt.created', 'pa_org_a', pg_temp.attempt(null, 'org_a'),
    'Seed: org_a paid.'),
  ('msg_w1', 'waitlistEntry.created', 'wle_1', jsonb_build_object('email_address', 'hopeful@example.com',
    'status', 'pending', 'clerk_created_at', '2026-01-01 10:00:00+00',
    'clerk_updated_at', '2026-01-01 10:00:00+00'), 'Seed: someone is on the waitlist.')
) as d(svix_id, type, object_id, state, description);

-- An app's table for pro users and organizations on the team plan.
create table public.reports (id int primary key, owner text not null);
alter table public.reports enable row level security;
grant select on public.reports to authenticated;
create policy "pro users read reports" on public.reports
for select to authenticated
using ((select clerk.has_plan('pro')) or (select clerk.has_plan('team')));
insert into public.reports values (1, 'anyone');

-- ---------------------------------------------------------------- catalog

select ok(
  (select bool_and(relrowsecurity) from pg_catalog.pg_class where oid in (
    'public.billing_subscriptions'::regclass, 'public.billing_subscription_items'::regclass,
    'public.billing_payment_attempts'::regclass, 'public.waitlist_entries'::regclass)),
  'RLS is enabled on the four billing and waitlist tables.'
);
select table_privs_are('public', t, 'authenticated', array['SELECT'],
  format('authenticated may only select public.%s.', t))
from unnest(array['billing_subscriptions', 'billing_subscription_items', 'billing_payment_attempts']) t;
select table_privs_are('public', t, 'anon', array[]::text[],
  format('anon has no privilege on public.%s.', t))
from unnest(array['billing_subscriptions', 'billing_subscription_items', 'billing_payment_attempts',
  'waitlist_entries']) t;
select table_privs_are('public', 'waitlist_entries', 'authenticated', array[]::text[],
  'authenticated has no privilege on public.waitlist_entries.');
select ok(
  (select 'search_path=""' = any(proconfig) and prosecdef from pg_catalog.pg_proc
    where oid = 'clerk.has_plan(text)'::regprocedure),
  'clerk.has_plan() is security definer with an empty search_path.'
);

-- ---------------------------------------------------------------- alice: payer, billing manager of org_a

select tests.authenticate_as('user_alice');
select results_eq($$select clerk_id from public.billing_subscriptions order by 1$$,
  $$values ('csub_org_a'), ('csub_user_alice')$$,
  'The paying user reads her subscription and her organization''s, and no other.');
select results_eq($$select clerk_id, subscription_id from public.billing_subscription_items order by 1$$,
  $$values ('csub_item_alice', 'csub_user_alice'), ('csub_item_org_a', 'csub_org_a')$$,
  'She reads their items (hers came inside her subscription), and no other.');
select results_eq($$select clerk_id from public.billing_payment_attempts order by 1$$,
  $$values ('pa_alice'), ('pa_org_a')$$,
  'A billing manager of org_a reads its payment attempts as well as her own.');
select ok(clerk.has_plan('pro'), 'clerk.has_plan() knows the signed-in user''s own plan.');
select ok(not clerk.has_plan('team'), 'Not the plan of an organization that is not active in the token.');
select results_eq($$select id from public.reports$$, $$values (1)$$,
  'An app''s table gated by clerk.has_plan() shows its rows to a pro user.');
select throws_ok($$select * from public.waitlist_entries$$, '42501', null,
  'A signed-in user cannot read the waitlist.');
select throws_ok(
  $$insert into public.billing_subscription_items (clerk_id, status, payer_user_id,
      clerk_created_at, clerk_updated_at, clerk_event_at, svix_id)
    values ('csub_item_x', 'active', 'user_alice', now(), now(), now(), 'msg_x')$$,
  '42501', null, 'A user cannot give herself a plan.');
select tests.authenticate_as('user_alice', '{"v": 2, "o": {"id": "org_a", "rol": "admin"}}');
select ok(clerk.has_plan('team'), 'With org_a active (v2 token), its team plan counts.');
select tests.authenticate_as('user_alice', '{"org_id": "org_a", "org_role": "org:admin"}');
select ok(clerk.has_plan('team'), 'And with a v1 token''s org_id.');
reset role;

-- ---------------------------------------------------------------- bob: plain member of org_a

select tests.authenticate_as('user_bob');
select results_eq($$select clerk_id from public.billing_subscriptions$$, $$values ('csub_org_a')$$,
  'A member reads his organization''s subscription.');
select results_eq($$select clerk_id from public.billing_subscription_items$$, $$values ('csub_item_org_a')$$,
  'And its items.');
select is_empty($$select 1 from public.billing_payment_attempts$$,
  'A member who may not manage billing reads none of its payment attempts.');
select ok(not clerk.has_plan('team'), 'Without an active organization he has no plan of his own.');
select is_empty($$select 1 from public.reports$$, 'So the gated table shows him nothing.');
select tests.authenticate_as('user_bob', '{"v": 2, "o": {"id": "org_a", "rol": "member"}}');
select ok(clerk.has_plan('team'), 'With org_a active, its plan is his.');
select results_eq($$select id from public.reports$$, $$values (1)$$,
  'And the gated table shows him its rows.');
reset role;

-- ---------------------------------------------------------------- carol: billing manager of another organization

select tests.authenticate_as('user_carol', '{"v": 2, "o": {"id": "org_b", "rol": "admin"}}');
select is_empty(
  $$select 1 from public.billing_subscriptions union all select 1 from public.billing_subscription_items
    union all select 1 from public.billing_payment_attempts$$,
  'A user who pays nothing and whose organization pays nothing reads no billing row.');
select ok(not clerk.has_plan('pro') and not clerk.has_plan('team'), 'And has no plan.');
select is_empty($$select 1 from public.reports$$, 'The gated table shows her nothing.');
reset role;

-- ---------------------------------------------------------------- statuses

select tests.authenticate_as('user_dave');
select ok(clerk.has_plan('pro'), 'past_due grants the plan: Clerk is still retrying the payment.');
select results_eq($$select clerk_id from public.billing_subscription_items$$, $$values ('csub_item_dave')$$,
  'dave reads his own item only.');
select is_empty($$select 1 from public.billing_payment_attempts$$, 'dave has no payment attempt.');
select tests.authenticate_as('user_erin');
select ok(not clerk.has_plan('pro'), 'upcoming does not: the plan has not started.');
select tests.authenticate_as('user_frank');
select ok(clerk.has_plan('pro'), 'A free trial grants the plan.');
select tests.authenticate_as('user_gina');
select ok(not clerk.has_plan('pro'), 'canceled does not once its period has ended.');
select tests.authenticate_as('user_hank');
select ok(clerk.has_plan('pro'), 'canceled grants the plan until its period_end: it is paid for.');
reset role;

select is(tests.deliver('msg_i7', 'subscriptionItem.ended', '2026-01-02 10:00:01+00', 'csub_item_alice',
    pg_temp.item('user_alice', null, 'pro', 'ended', false, '2026-01-02 10:00:00+00')), 'applied',
  'alice''s pro ends.');
select tests.authenticate_as('user_alice');
select ok(not clerk.has_plan('pro'), 'clerk.has_plan() follows the synced state: an ended plan no longer counts.');
select is_empty($$select 1 from public.reports$$, 'And the gated table closes.');
reset role;

-- ---------------------------------------------------------------- locks

create function pg_temp.held(p_class int, p_keys text[]) returns int language sql as $$
  select count(*)::int from pg_catalog.pg_locks l
  where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.classid = p_class
    and l.objsubid = 2
    and l.objid in (select (hashtext(k)::bigint & 4294967295)::oid from unnest(p_keys) k);
$$;
select clerk_sync.lock_batch(array[
  row('msg_lk1', 'subscription.updated', now(), 'csub_lk', jsonb_build_object('items', jsonb_build_array(
    jsonb_build_object('clerk_id', 'csub_item_lk1'), jsonb_build_object('clerk_id', 'csub_item_lk2')))),
  row('msg_lk2', 'subscriptionItem.ended', now(), 'csub_item_lk3', '{}'::jsonb),
  row('msg_lk3', 'paymentAttempt.updated', now(), 'pa_lk', '{}'::jsonb),
  row('msg_lk4', 'waitlistEntry.updated', now(), 'wle_lk', '{}'::jsonb)
]::clerk_sync.delivery[]);
select is(pg_temp.held(10, array['csub_lk']), 1, 'A subscription event locks its subscription (class 10).');
select is(pg_temp.held(11, array['csub_item_lk1', 'csub_item_lk2', 'csub_item_lk3']), 3,
  'It locks each item it carries (class 11), as an item event locks its item: the rows its apply function writes.');
select is(pg_temp.held(12, array['pa_lk']) + pg_temp.held(13, array['wle_lk']), 2,
  'A payment attempt (class 12) and a waitlist entry (class 13) lock themselves.');

-- ---------------------------------------------------------------- anon, service_role

select tests.refused('anon', format('select * from public.%I', t), '42501',
  format('anon cannot read public.%s.', t))
from unnest(array['billing_subscriptions', 'billing_subscription_items', 'billing_payment_attempts',
  'waitlist_entries']) t;

select tests.authenticate_as_service_role();
select results_eq($$select clerk_id, email_address from public.waitlist_entries$$,
  $$values ('wle_1', 'hopeful@example.com')$$, 'service_role reads the waitlist.');
reset role;

select * from finish();
rollback;
