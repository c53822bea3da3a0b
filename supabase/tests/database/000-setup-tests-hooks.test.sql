-- The tests' helpers, in schema tests, as Basejump's supabase-test-helpers has them, so
-- that each file reads as a list of deliveries and of who may do what. This is the first
-- file in name order: pg_prove and `supabase test db` run it before every other (to run
-- one file with pg_prove, name this one first), and npm test installs it before any file
-- (tests/support/pgtap.ts). The last file, zzz-teardown-tests-hooks.test.sql, drops them.
-- Unlike the others it commits: pg_prove runs each file in a session of its own.
--
--   tests.delivery(svix_id, type, event_at, object_id, state)  one delivery, as jsonb
--   tests.deliver(svix_id, type, event_at, object_id, state, deadline)
--                                 applies it alone through public.apply_clerk_events()
--                                 and returns its outcome
--   tests.user_state(name, updated_at, fields)   a user's whole state, as the function sends it
--   tests.authenticate_as(sub, claims)  acts as authenticated with a Clerk session token
--   tests.authenticate_as_service_role(), tests.clear_authentication() (anon)
--   tests.refused(who, statement, errcode, description)
--                                 pgTAP: who (anon, service_role or a Clerk user id) is
--                                 refused the statement with errcode
--   tests.is_canceled(statement)  whether the statement raised query_canceled

begin;

create schema if not exists tests;

comment on schema tests is
  'Helpers of the pgTAP tests (supabase/tests/database), created by their first file and dropped by their last.';

create or replace function tests.delivery(
  p_svix_id text,
  p_type text,
  p_event_at timestamptz,
  p_object_id text default null,
  p_state jsonb default null
)
returns jsonb
language sql
immutable
as $$
  select jsonb_build_object(
    'svix_id', p_svix_id, 'type', p_type, 'event_at', p_event_at, 'object_id', p_object_id,
    'state', p_state
  );
$$;

comment on function tests.delivery(text, text, timestamptz, text, jsonb) is
  'One delivery as public.apply_clerk_events() takes it in its array.';

create or replace function tests.deliver(
  p_svix_id text,
  p_type text,
  p_event_at timestamptz,
  p_object_id text default null,
  p_state jsonb default null,
  p_deadline timestamptz default null
)
returns text
language sql
as $$
  select (public.apply_clerk_events(
    jsonb_build_array(tests.delivery(p_svix_id, p_type, p_event_at, p_object_id, p_state)),
    p_deadline
  ))[1];
$$;

comment on function tests.deliver(text, text, timestamptz, text, jsonb, timestamptz) is
  'Applies one delivery alone through public.apply_clerk_events(), as the caller, and returns its outcome.';

create or replace function tests.user_state(
  p_name text,
  p_updated_at timestamptz default '2026-01-01 10:00:00+00',
  p_fields jsonb default '{}'
)
returns jsonb
language sql
immutable
as $$
  select jsonb_build_object(
    'email', p_name || '@example.com', 'email_verified', true, 'phone_number', '+15550000001',
    'username', p_name, 'first_name', initcap(p_name), 'last_name', 'Example',
    'image_url', 'https://img.clerk.com/' || p_name, 'external_id', 'ext-' || p_name,
    'public_metadata', '{"role": "admin"}'::jsonb, 'unsafe_metadata', '{"theme": "dark"}'::jsonb,
    'private_metadata', '{"stripe": "cus_1"}'::jsonb,
    'banned', false, 'locked', false, 'last_sign_in_at', '2026-01-01 09:00:00+00',
    'clerk_created_at', '2026-01-01 08:00:00+00', 'clerk_updated_at', p_updated_at,
    'sync_format', 2
  ) || p_fields;
$$;

comment on function tests.user_state(text, timestamptz, jsonb) is
  'The whole state of a user named p_name (email name@example.com, username name, …) as the function sends it, at Clerk''s updated_at p_updated_at; p_fields replaces or adds fields.';

create or replace function tests.authenticate_as(p_sub text, p_claims jsonb default '{}')
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config(
    'request.jwt.claims',
    (jsonb_build_object('sub', p_sub, 'role', 'authenticated') || p_claims)::text,
    true
  );
end;
$$;

comment on function tests.authenticate_as(text, jsonb) is
  'Acts, until the end of the transaction or the next change, as PostgREST does for a Clerk session token of user p_sub: role authenticated, the token''s claims (p_claims adds v2 or v1 organization claims).';

create or replace function tests.authenticate_as_service_role()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end;
$$;

comment on function tests.authenticate_as_service_role() is
  'Acts as the app''s server: role service_role.';

create or replace function tests.clear_authentication()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end;
$$;

comment on function tests.clear_authentication() is
  'Acts as a request without a session token: role anon.';

create or replace function tests.refused(
  p_who text,
  p_statement text,
  p_errcode text,
  p_description text
)
returns text
language plpgsql
as $$
declare
  v_role text := current_setting('role');
  v_claims text := current_setting('request.jwt.claims', true);
  v_tap text;
begin
  case p_who
    when 'anon' then perform tests.clear_authentication();
    when 'service_role' then perform tests.authenticate_as_service_role();
    else perform tests.authenticate_as(p_who);
  end case;
  v_tap := throws_ok(p_statement, p_errcode::char(5), null::text, p_description);
  perform set_config('role', v_role, true);
  perform set_config('request.jwt.claims', v_claims, true);
  return v_tap;
end;
$$;

comment on function tests.refused(text, text, text, text) is
  'pgTAP: p_statement, run as p_who (anon, service_role, or a Clerk user id for authenticated with that user''s token), raises p_errcode; then acts as before.';

create or replace function tests.is_canceled(p_statement text)
returns boolean
language plpgsql
as $$
begin
  execute p_statement;
  return false;
exception when query_canceled then
  -- The one error a PL/pgSQL "when others" (so pgTAP's throws_ok) does not catch.
  return true;
end;
$$;

comment on function tests.is_canceled(text) is
  'Whether p_statement raised query_canceled, which pgTAP''s throws_ok cannot catch.';

-- The helpers run as whoever the test acts as.
grant usage on schema tests to anon, authenticated, service_role;
revoke all on all functions in schema tests from public;
grant execute on all functions in schema tests to anon, authenticated, service_role;

select plan(8);

select function_returns('tests', 'delivery',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb'], 'jsonb',
  'tests.delivery() builds a delivery.');
select function_returns('tests', 'deliver',
  array['text', 'text', 'timestamp with time zone', 'text', 'jsonb', 'timestamp with time zone'],
  'text', 'tests.deliver() applies a delivery and returns its outcome.');
select function_returns('tests', 'user_state',
  array['text', 'timestamp with time zone', 'jsonb'], 'jsonb',
  'tests.user_state() builds a user''s state.');
select function_returns('tests', 'authenticate_as', array['text', 'jsonb'], 'void',
  'tests.authenticate_as() acts as a signed-in Clerk user.');
select function_returns('tests', 'authenticate_as_service_role', array[]::text[], 'void',
  'tests.authenticate_as_service_role() acts as the app''s server.');
select function_returns('tests', 'clear_authentication', array[]::text[], 'void',
  'tests.clear_authentication() acts as anon.');
select function_returns('tests', 'refused', array['text', 'text', 'text', 'text'], 'text',
  'tests.refused() is a pgTAP assertion.');
select function_returns('tests', 'is_canceled', array['text'], 'boolean',
  'tests.is_canceled() tells a canceled statement.');

select * from finish();
commit;
