/**
 * functions/clerk-webhook/index.ts as a process, end to end (HTTP in, rows out), on
 * this run's Deno and on the hosted edge runtime's Deno 2.1.4, through both transports,
 * with only the permissions the hosted runtime grants: configuration from the
 * environment, a user's whole life, forgeries refused.
 */
import assert from "node:assert/strict";
import { deletedEvent, newClerkId, userEvent } from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import { HOSTED_DENO, RUNTIMES, startFunction } from "../dev/function_process.ts";
import { deliver, newSecret, newSvixId } from "../dev/webhooks.ts";
import { onTransport, startFunctionOn, TRANSPORTS } from "./support/transports.ts";

for (const runtime of RUNTIMES) {
  // Counted as ignored, never as passed, where npm has no build of this Deno (or of PostgREST).
  const ignore = runtime.executable === undefined;

  for (const transport of TRANSPORTS) {
    Deno.test({
      name:
        `the function on ${runtime.name} syncs a user's life over ${transport} and refuses forgeries`,
      ignore: ignore || onTransport(transport).ignore,
      fn: async () => {
        await using db = await scratchDatabase();
        const secret = newSecret();
        await using fn = await startFunctionOn(transport, db.url, secret, runtime);
        const id = newClerkId();
        const email = `${id}@example.com`;
        const readRow = async () =>
          (await db.sql`select email, first_name from public.users where clerk_id = ${id}`)[0];
        const T = Date.now() - 60_000;

        const created = userEvent("user.created", { id, email, firstName: "Ada", updatedAt: T });
        const svixId = newSvixId();
        assert.deepEqual(await deliver(fn.url, created, { secret, id: svixId }), {
          status: 200,
          body: { outcome: "applied" },
        });
        assert.deepEqual(await readRow(), { email, first_name: "Ada" });
        assert.deepEqual(await deliver(fn.url, created, { secret, id: svixId }), {
          status: 200,
          body: { outcome: "duplicate" },
        });

        const renamed = userEvent("user.updated", {
          id,
          email,
          firstName: "Augusta",
          updatedAt: T + 1_000,
        });
        const forged = await deliver(fn.url, renamed, { secret: newSecret() });
        assert.equal(forged.status, 400);
        assert.deepEqual(await readRow(), { email, first_name: "Ada" }, "a forgery writes nothing");
        assert.equal((await deliver(fn.url, renamed, { secret })).status, 200);
        assert.deepEqual(await readRow(), { email, first_name: "Augusta" });

        assert.deepEqual(await deliver(fn.url, deletedEvent(id, T + 2_000), { secret }), {
          status: 200,
          body: { outcome: "applied" },
        });
        assert.equal(await readRow(), undefined);

        const output = await fn.waitForOutput(new RegExp(`"type":"user.deleted"`));
        const line = output.split("\n").find((text) => text.includes(`"type":"user.created"`));
        assert.ok(line, fn.output());
        assert.deepEqual(
          { ...JSON.parse(line), ms: 0, svix_id: "" },
          {
            svix_id: "",
            type: "user.created",
            clerk_id: id,
            outcome: "applied",
            status: 200,
            ms: 0,
          },
        );
      },
    });
  }

  Deno.test({
    name:
      `the function on ${runtime.name} answers 500 to everything when misconfigured, and logs the variable`,
    ignore,
    fn: async () => {
      const secret = newSecret();
      const cases: [Record<string, string>, string][] = [
        [{ DATABASE_URL: "postgres://localhost/x" }, "CLERK_WEBHOOK_SECRET"],
        [
          { CLERK_WEBHOOK_SECRET: "whsec_", DATABASE_URL: "postgres://localhost/x" },
          "CLERK_WEBHOOK_SECRET",
        ],
        [{ CLERK_WEBHOOK_SECRET: secret }, "SUPABASE_URL"],
        [{
          CLERK_WEBHOOK_SECRET: secret,
          SUPABASE_URL: "http://localhost:1",
          SUPABASE_SECRET_KEYS: "oops",
        }, "SUPABASE_SECRET_KEYS"],
      ];
      for (const [env, variable] of cases) {
        await using fn = await startFunction(env, { runtime });
        const event = userEvent("user.created", {
          id: newClerkId(),
          email: null,
          updatedAt: Date.now(),
        });
        const { status, body } = await deliver(fn.url, event, { secret });
        assert.equal(status, 500, variable);
        assert.doesNotMatch(
          JSON.stringify(body),
          new RegExp(variable),
          "the client is not told the internals",
        );
        await fn.waitForOutput(new RegExp(`"status":500.*"error":"ConfigError: ${variable}: `));
      }
    },
  });
}

Deno.test("the function reads its signing secret from CLERK_WEBHOOK_SIGNING_SECRET too", async () => {
  await using db = await scratchDatabase();
  const secret = newSecret();
  await using fn = await startFunction({
    CLERK_WEBHOOK_SIGNING_SECRET: secret,
    DATABASE_URL: db.url,
  });
  const id = newClerkId();
  const event = userEvent("user.created", { id, email: null, updatedAt: Date.now() });
  assert.deepEqual(await deliver(fn.url, event, { secret }), {
    status: 200,
    body: { outcome: "applied" },
  });
});

Deno.test({
  name: "the hosted runtime's Deno the tests use is 2.1.4",
  ignore: HOSTED_DENO.executable === undefined,
  fn: async () => {
    const output = await new Deno.Command(HOSTED_DENO.executable!, { args: ["--version"] })
      .output();
    assert.match(new TextDecoder().decode(output.stdout), /^deno 2\.1\.4 /);
  },
});
