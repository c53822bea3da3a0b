-- Drops the tests' helpers that 000-setup-tests-hooks.test.sql made, so that a run of
-- `supabase test db` leaves the database as it found it (nothing for `supabase db diff`
-- or the linter to find). The last file in name order; it commits.

begin;
select plan(1);

-- Without the notice that lists each helper.
set local client_min_messages = warning;
drop schema tests cascade;

select hasnt_schema('tests', 'The tests'' helpers are gone after the run.');

select * from finish();
commit;
