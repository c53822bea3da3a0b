/** readConfig(): which transport an environment selects, and which settings it refuses. */
import assert from "node:assert/strict";
import { ConfigError, readConfig } from "../functions/clerk-webhook/config.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const from = (values: Record<string, string>) => (name: string) => values[name];

Deno.test("readConfig() prefers DATABASE_URL to the Supabase client", () => {
  const config = readConfig(from({
    CLERK_WEBHOOK_SECRET: SECRET,
    DATABASE_URL: "postgresql://postgres@db:5432/postgres",
    SUPABASE_URL: "https://x.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "k",
  }));
  assert.deepEqual(config, {
    secrets: [SECRET],
    database: { transport: "postgres", url: "postgresql://postgres@db:5432/postgres" },
    port: undefined,
  });
});

Deno.test("readConfig() takes the default secret key before the legacy service role key", () => {
  const env = {
    CLERK_WEBHOOK_SIGNING_SECRET: SECRET,
    SUPABASE_URL: "https://x.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "legacy",
  };
  assert.deepEqual(readConfig(from(env)).database, {
    transport: "supabase",
    url: "https://x.supabase.co",
    key: "legacy",
  });
  const keys = JSON.stringify({ default: "sb_secret_new", other: "sb_secret_other" });
  assert.deepEqual(readConfig(from({ ...env, SUPABASE_SECRET_KEYS: keys })).database, {
    transport: "supabase",
    url: "https://x.supabase.co",
    key: "sb_secret_new",
  });
});

Deno.test("readConfig() accepts several secrets from both variable names, and PORT", () => {
  const config = readConfig(from({
    CLERK_WEBHOOK_SECRET: `${SECRET}, ${OTHER}`,
    CLERK_WEBHOOK_SIGNING_SECRET: OTHER,
    DATABASE_URL: "postgres://localhost/db",
    PORT: "8123",
  }));
  assert.deepEqual(config.secrets, [SECRET, OTHER, OTHER]);
  assert.equal(config.port, 8123);
});

Deno.test("readConfig() names the variable that is missing or malformed", () => {
  const base = { CLERK_WEBHOOK_SECRET: SECRET, DATABASE_URL: "postgres://localhost/db" };
  const cases: [Record<string, string>, string][] = [
    [{ DATABASE_URL: "postgres://localhost/db" }, "CLERK_WEBHOOK_SECRET"],
    [{ ...base, CLERK_WEBHOOK_SECRET: "   " }, "CLERK_WEBHOOK_SECRET"],
    [{ ...base, CLERK_WEBHOOK_SECRET: "whsec_" }, "CLERK_WEBHOOK_SECRET"],
    [{ ...base, CLERK_WEBHOOK_SIGNING_SECRET: "whsec_c2hvcnQ=" }, "CLERK_WEBHOOK_SIGNING_SECRET"],
    [{ ...base, DATABASE_URL: "mysql://localhost/db" }, "DATABASE_URL"],
    [{ CLERK_WEBHOOK_SECRET: SECRET }, "SUPABASE_URL"],
    [{
      CLERK_WEBHOOK_SECRET: SECRET,
      SUPABASE_URL: "x.supabase.co",
      SUPABASE_SERVICE_ROLE_KEY: "k",
    }, "SUPABASE_URL"],
    [
      { CLERK_WEBHOOK_SECRET: SECRET, SUPABASE_URL: "https://x.supabase.co" },
      "SUPABASE_SECRET_KEYS",
    ],
    [{
      CLERK_WEBHOOK_SECRET: SECRET,
      SUPABASE_URL: "https://x.supabase.co",
      SUPABASE_SECRET_KEYS: "sb_secret_x",
    }, "SUPABASE_SECRET_KEYS"],
    [{
      CLERK_WEBHOOK_SECRET: SECRET,
      SUPABASE_URL: "https://x.supabase.co",
      SUPABASE_SECRET_KEYS: "{}",
    }, "SUPABASE_SECRET_KEYS"],
    [{ ...base, PORT: "80a" }, "PORT"],
    [{ ...base, PORT: "70000" }, "PORT"],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => readConfig(from(env)),
      (error: unknown) =>
        error instanceof ConfigError && error.variable === variable &&
        error.message.startsWith(`${variable}: `),
      `${JSON.stringify(env)} → ${variable}`,
    );
  }
});

Deno.test("readConfig() says which key goes where when CLERK_WEBHOOK_SECRET holds another key", () => {
  const cases: [string, RegExp][] = [
    ["sk_test_" + "a".repeat(40), /a Clerk secret key \(sk_…\), which is CLERK_SECRET_KEY/],
    ["sk_live_" + "a".repeat(40), /a Clerk secret key/],
    ["pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", /a Clerk publishable key \(pk_…\).*front end/],
    ["sb_secret_" + "a".repeat(30), /a Supabase API key/],
  ];
  for (const [value, kind] of cases) {
    assert.throws(
      () => readConfig(from({ CLERK_WEBHOOK_SECRET: value, DATABASE_URL: "postgres://h/db" })),
      (error: Error) =>
        error instanceof ConfigError && error.variable === "CLERK_WEBHOOK_SECRET" &&
        kind.test(error.message) && error.message.includes("not a webhook signing secret") &&
        error.message.includes("Signing Secret (whsec_…) from the Clerk dashboard → Webhooks"),
      value,
    );
  }
});
