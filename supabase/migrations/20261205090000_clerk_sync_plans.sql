-- Plans that stay good as the tables grow: index scans, no JIT, in the entry point.
--
-- public.apply_clerk_events() runs with plan_cache_mode = force_generic_plan: each of
-- its statements (and those of every function it calls) is planned once per connection
-- and the plan is kept while the connection lives. A plan made while a table was small
-- (a new project, a table the backfill is filling) is a sequential scan, and the pooled
-- connection keeps it as the table grows, until an ANALYZE happens to invalidate it:
-- measured, the lock phase of a single user.created went from 307 to 3,231 µs over
-- 6,000 new users (each delivery reading every user row), and a burst of sign-ups on a
-- fresh project slowed down as it went. Every statement of the entry point reads by key,
-- through an index; with sequential scans off the plans use the indexes whatever the
-- statistics said when they were made (the lock phase stayed at 35 µs). A statement with
-- no index to use still scans.
--
-- Nor JIT compilation: PostgreSQL compiles a statement to machine code when its cost
-- estimate passes jit_above_cost, and compiles it again on every execution; with JIT
-- forced on, a batch of 64 user.created took 19.6 s instead of 19 ms on the test server.
-- A statement that touches a handful of rows never gains from it.

alter function public.apply_clerk_events(jsonb, timestamptz) set enable_seqscan = off;
alter function public.apply_clerk_events(jsonb, timestamptz) set jit = off;
