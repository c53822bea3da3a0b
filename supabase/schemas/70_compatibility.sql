-- Entry points of earlier releases, kept as thin wrappers so that a function deployed
-- before an upgrade keeps applying deliveries until the new one replaces it (see
-- CHANGELOG.md for the release that removes them).

create function public.apply_clerk_event(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_object_id text default null,
  p_state jsonb default null,
  p_deadline timestamptz default null
)
returns text
language sql
security definer
set search_path = ''
as $$
  select (public.apply_clerk_events(
    jsonb_build_array(jsonb_build_object(
      'svix_id', p_svix_id, 'type', p_event_type, 'event_at', p_event_at,
      'object_id', p_object_id, 'state', p_state
    )),
    p_deadline
  ))[1];
$$;

comment on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz) is
  'The entry point of functions deployed before 20261202110000, kept as a wrapper: applies one delivery as public.apply_clerk_events() applies a batch of one, and returns its outcome. Removed in 2.0.0.';

create function public.apply_clerk_user_event(
  p_svix_id text,
  p_event_type text,
  p_event_at timestamptz,
  p_clerk_id text default null,
  p_email text default null,
  p_first_name text default null,
  p_last_name text default null,
  p_image_url text default null,
  p_clerk_created_at timestamptz default null,
  p_clerk_updated_at timestamptz default null,
  p_deadline timestamptz default null
)
returns text
language sql
security definer
set search_path = ''
as $$
  select public.apply_clerk_event(
    p_svix_id, p_event_type, p_event_at, p_clerk_id,
    case when p_event_type in ('user.created', 'user.updated') then jsonb_build_object(
      'email', p_email, 'first_name', p_first_name, 'last_name', p_last_name,
      'image_url', p_image_url, 'clerk_created_at', p_clerk_created_at,
      'clerk_updated_at', p_clerk_updated_at
    ) end,
    p_deadline
  );
$$;

comment on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz) is
  'The first release''s entry point, kept for a function deployed before 20261202090000: applies the five fields it knows through public.apply_clerk_event(), leaving the others as they are. Removed in 2.0.0.';

revoke all on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)
  from public, anon, authenticated;
grant execute on function public.apply_clerk_event(text, text, timestamptz, text, jsonb, timestamptz)
  to service_role;

revoke all on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)
  from public, anon, authenticated;

grant execute on function public.apply_clerk_user_event(text, text, timestamptz, text, text, text, text, text, timestamptz, timestamptz, timestamptz)
  to service_role;
