-- public.apply_clerk_user_event() commits nothing once the caller's deadline has passed:
-- the function has answered 503 by then, and Svix will redeliver.

begin;
select plan(4);

-- query_canceled is the one error a PL/pgSQL "when others" (so pgTAP's throws_ok) does
-- not catch: name it.
create function pg_temp.is_canceled(statement text) returns boolean
language plpgsql as $$
begin
  execute statement;
  return false;
exception when query_canceled then
  return true;
end;
$$;

select ok(
  pg_temp.is_canceled($$select public.apply_clerk_user_event(
      p_svix_id => 'msg_late', p_event_type => 'user.created', p_event_at => now(),
      p_clerk_id => 'user_late', p_clerk_created_at => now(), p_clerk_updated_at => now(),
      p_deadline => clock_timestamp() - interval '1 second')$$),
  'A call that reaches the database after its deadline raises query_canceled.'
);

select is_empty(
  $$select 1 from clerk_sync.deliveries where svix_id = 'msg_late'$$,
  'A call past its deadline records nothing in the ledger.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_late', p_event_type => 'user.created', p_event_at => now(),
    p_clerk_id => 'user_late', p_clerk_created_at => now(), p_clerk_updated_at => now(),
    p_deadline => clock_timestamp() + interval '8 seconds'),
  'applied',
  'Its redelivery, within its deadline, is applied.'
);

select is(
  public.apply_clerk_user_event(
    p_svix_id => 'msg_no_deadline', p_event_type => 'user.deleted', p_event_at => now(),
    p_clerk_id => 'user_late'),
  'applied',
  'A call without a deadline is applied as before.'
);

select * from finish();
rollback;
