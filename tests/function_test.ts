/** functions/clerk-webhook/index.ts as a process: configuration from the environment. */
import assert from "node:assert/strict";
import { newClerkId, userEvent } from "./support/clerk.ts";
import { scratchDatabase } from "./support/database.ts";
import { startFunction } from "./support/function_process.ts";
import { deliver, newSecret } from "./support/webhooks.ts";

Deno.test("the function syncs over DATABASE_URL with only net and env permissions", async () => {
  await using db = await scratchDatabase();
  const secret = newSecret();
  await using fn = await startFunction({
    CLERK_WEBHOOK_SIGNING_SECRET: secret,
    DATABASE_URL: db.url,
  });
  const id = newClerkId();
  const event = userEvent("user.created", {
    id,
    email: `${id}@example.com`,
    firstName: "Ada",
    updatedAt: Date.now(),
  });
  assert.deepEqual(await deliver(fn.url, event, { secret }), {
    status: 200,
    body: { outcome: "applied" },
  });
  const [row] = await db.sql`select email, first_name from public.users where clerk_id = ${id}`;
  assert.deepEqual(row, { email: `${id}@example.com`, first_name: "Ada" });
  const output = await fn.waitForOutput(new RegExp(`"clerk_id":"${id}"`));
  const line = output.split("\n").find((text) => text.includes(id));
  assert.ok(line, fn.output());
  assert.deepEqual(
    { ...JSON.parse(line), ms: 0, svix_id: "" },
    { svix_id: "", type: "user.created", clerk_id: id, outcome: "applied", status: 200, ms: 0 },
  );
});

Deno.test("the function answers 500 to everything when misconfigured, and logs the variable", async () => {
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
    await using fn = await startFunction(env);
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
});
