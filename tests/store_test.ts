/** storeError() and schemaCheck(): what a failed call means, and the schema the code needs. */
import assert from "node:assert/strict";
import {
  SCHEMA_VERSION,
  schemaCheck,
  SchemaMismatchError,
  storeError,
  StoreUnavailableError,
} from "../functions/clerk-webhook/store.ts";

Deno.test("storeError() answers 503 (unavailable) to what a pooler, a failover or a restart produces", () => {
  for (
    const code of [
      "26000", // a named statement moved to another server connection by a transaction pooler
      "08006", // connection failure
      "08P01", // PgBouncer's "no more connections allowed", "query_wait_timeout"
      "57P01", // admin shutdown
      "57P02", // crash shutdown
      "57P03", // cannot connect now (starting up, failover)
      "53300", // too many connections
      "55P03", // lock_timeout
      "40001", // serialization failure
      "25006", // read-only standby after a failover
      "PGRST001", // PostgREST lost its connection
    ]
  ) {
    assert.ok(storeError({ code, message: code }) instanceof StoreUnavailableError, code);
  }
  assert.ok(storeError({ message: "ECONNRESET" }) instanceof StoreUnavailableError);
  // PostgREST's answer to the first request on a pooled connection the database dropped:
  // 400, with an empty code and message (PostgREST issue #4681).
  const dropped = storeError({ code: "", message: "Supabase RPC failed with 400:  " });
  assert.ok(dropped instanceof StoreUnavailableError, "PostgREST's empty 400");
  const full = storeError({ code: "XX000", message: "XX000 Max client connections reached" });
  assert.ok(full instanceof StoreUnavailableError, "Supavisor's full pool");
});

Deno.test("storeError() answers 500 to a bug or bad data, which a retry would not fix", () => {
  for (const code of ["23505", "22023", "P0001", "XX000", "42501"]) {
    const error = storeError({ code, message: code });
    assert.ok(!(error instanceof StoreUnavailableError), code);
  }
});

Deno.test("storeError() names supabase db push when a function or table of the sync is missing", () => {
  for (const code of ["42883", "42P01", "PGRST202"]) {
    const error = storeError({
      code,
      message: "function public.apply_clerk_events(jsonb, timestamp with time zone) does not exist",
    });
    assert.ok(error instanceof SchemaMismatchError, code);
    assert.match(error.message, /lacks the sync's migrations .*: run `supabase db push`/);
  }
});

Deno.test("schemaCheck() passes the code's version and newer ones, once; refuses older ones until they change", async () => {
  let version: unknown = "20261202120000";
  let reads = 0;
  const check = schemaCheck(() => {
    reads++;
    return Promise.resolve(version);
  });
  await assert.rejects(
    check(),
    (error: Error) =>
      error instanceof SchemaMismatchError &&
      error.message.includes(`is at 20261202120000; this code needs ${SCHEMA_VERSION} or later`) &&
      error.message.includes("supabase db push"),
  );
  await assert.rejects(check(), SchemaMismatchError);
  assert.equal(reads, 2, "a failed check is tried again");
  version = "29991231235959";
  await check();
  await check();
  assert.equal(reads, 3, "a passed check is not repeated");

  const missing = schemaCheck(() => Promise.resolve(null));
  await assert.rejects(missing(), /is at null; this code needs/);
  const failing = schemaCheck(() => Promise.reject(new StoreUnavailableError("down")));
  await assert.rejects(failing(), (error: Error) => !(error instanceof SchemaMismatchError));
});
