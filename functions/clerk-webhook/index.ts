/**
 * clerk-webhook: Clerk's webhooks (users, organizations, memberships) → the synced tables,
 * and `POST /sync` for a signed-in user's row on demand.
 * Wires the configuration to the handler and serves it; the logic is in the modules.
 */
import { ConfigError, readConfig, readPort, readSyncConfig, type SyncConfig } from "./config.ts";
import type { Database } from "./database.ts";
import { createHandler, createMisconfiguredHandler, type OnDemandRoute } from "./handler.ts";
import { DEFAULT_MAX_CALLS } from "./group_commit.ts";
import { openDatabase } from "./open_database.ts";
import type { SyncStore } from "./store.ts";
import { createSyncStore } from "./sync_store.ts";
import { WebhookVerifier } from "./verify.ts";

const env = (name: string) => Deno.env.get(name);

async function createServerHandler(): Promise<{
  handler: (request: Request) => Promise<Response>;
  port?: number;
}> {
  try {
    const config = readConfig(env);
    // A connection per call the group commit may keep in flight, and one for refusals.
    const db = await openDatabase(config.database, { connections: DEFAULT_MAX_CALLS + 1 });
    const store = createSyncStore(db);
    const handler = createHandler({
      verifier: new WebhookVerifier(config.secrets),
      store,
      onDemand: onDemandRoute(db, store),
    });
    return config.port === undefined ? { handler } : { handler, port: config.port };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(JSON.stringify({ error: `Configuration error: ${error.message}` }));
    const handler = createMisconfiguredHandler(error);
    const port = error.variable === "PORT" ? undefined : readPort(env);
    return port === undefined ? { handler } : { handler, port };
  }
}

/**
 * `POST /sync`, its module loaded on the first call. Its settings are its own: when they
 * are missing or bad, /sync answers 500 and logs which, and the webhook works as ever.
 */
function onDemandRoute(db: Database, store: SyncStore): OnDemandRoute {
  let config: SyncConfig | ConfigError;
  try {
    config = readSyncConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    config = error;
  }
  const settings = config;
  let service: ReturnType<OnDemandRoute["load"]> | undefined;
  return {
    origins: settings instanceof ConfigError ? [] : settings.authorizedParties,
    load() {
      if (settings instanceof ConfigError) return Promise.reject(settings);
      service ??= import("./sync_on_demand.ts").then(({ createSyncOnDemand }) =>
        createSyncOnDemand({ config: settings, db, store })
      );
      return service;
    },
  };
}

const { handler, port } = await createServerHandler();
Deno.serve(port === undefined ? {} : { port }, handler);
