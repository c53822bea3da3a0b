/**
 * clerk-webhook: Clerk's webhooks (users, organizations, memberships) → the synced tables.
 * Wires the configuration to the handler and serves it; the logic is in the modules.
 */
import { ConfigError, readConfig, readPort } from "./config.ts";
import { createHandler, createMisconfiguredHandler } from "./handler.ts";
import { openStore } from "./open_database.ts";
import { WebhookVerifier } from "./verify.ts";

const env = (name: string) => Deno.env.get(name);

async function createServerHandler(): Promise<{
  handler: (request: Request) => Promise<Response>;
  port?: number;
}> {
  try {
    const config = readConfig(env);
    const store = await openStore(config.database);
    const handler = createHandler({ verifier: new WebhookVerifier(config.secrets), store });
    return config.port === undefined ? { handler } : { handler, port: config.port };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(JSON.stringify({ error: `Configuration error: ${error.message}` }));
    const handler = createMisconfiguredHandler(error);
    const port = error.variable === "PORT" ? undefined : readPort(env);
    return port === undefined ? { handler } : { handler, port };
  }
}

const { handler, port } = await createServerHandler();
Deno.serve(port === undefined ? {} : { port }, handler);
