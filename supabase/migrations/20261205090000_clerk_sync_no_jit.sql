-- No JIT compilation in the entry point.
--
-- PostgreSQL compiles a statement to machine code when the planner's cost estimate
-- passes jit_above_cost (100,000 by default; JIT is on wherever the server was built with
-- LLVM, as Debian's and Supabase's are). The statements of the apply functions touch a
-- handful of rows each, but their generic plans can be estimated above that as tables
-- grow, and the compilation is paid again on every execution: with JIT forced on, a
-- batch of 64 user.created took 19.6 s instead of 19 ms on this project's test server.
-- Setting it off for the entry point (and so for every function it calls) removes that
-- failure mode; a statement that touches a handful of rows never gains from it.

alter function public.apply_clerk_events(jsonb, timestamptz) set jit = off;
