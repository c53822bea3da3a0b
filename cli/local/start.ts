/**
 * `npm start`: serves the clerk-webhook function locally.
 *
 * With nothing configured it writes to an embedded PostgreSQL (PGlite in `.data/`,
 * migrated with `supabase db push`) and verifies with a development secret kept in
 * `.data/`; with `DATABASE_URL`, or `SUPABASE_URL` and a key, it writes there instead.
 * Ctrl-C (SIGINT) or SIGTERM stops it cleanly; the next start reuses the data.
 */
import {
  type Config,
  ConfigError,
  readConfig,
  SECRET_VARIABLES,
} from "../../functions/clerk-webhook/config.ts";
import { createHandler } from "../../functions/clerk-webhook/handler.ts";
import { openStore } from "../../functions/clerk-webhook/open_database.ts";
import { createSyncStore } from "../../functions/clerk-webhook/sync_store.ts";
import { SchemaMismatchError, type SyncStore } from "../../functions/clerk-webhook/store.ts";
import { WebhookVerifier } from "../../functions/clerk-webhook/verify.ts";
import { type EmbeddedDatabase, openEmbeddedDatabase } from "./embedded_database.ts";
import {
  configuredSecretVariable,
  DEFAULT_PORT,
  displayPath,
  ensureDevSecret,
  isListening,
  PGLITE_DIR,
  readRunningServer,
  removeRunningServer,
  writeRunningServer,
} from "./local_dev.ts";
import { openPGliteDatabase } from "./pglite_database.ts";

const env = (name: string) => Deno.env.get(name);

/** The development secret, when no signing secret is configured. */
type DevSecret = Awaited<ReturnType<typeof ensureDevSecret>>;

/** Refuses to open the embedded database while another `npm start` has it open. */
async function ensureNotRunning(): Promise<void> {
  const running = await readRunningServer();
  if (running?.databaseUrl !== undefined && await isListening(running.databaseUrl)) {
    throw new Error(
      `Another npm start (pid ${running.pid}) is serving ${running.functionUrl} on this data: stop it first`,
    );
  }
}

/**
 * The function's configuration, read by readConfig as the function reads it, with the
 * development secret when none is set, and the embedded database standing as
 * DATABASE_URL (its socket is one; the store below writes in this process instead).
 */
function readLocalConfig(dev: DevSecret | undefined, embedded: EmbeddedDatabase | undefined) {
  return readConfig((name) => {
    if (name === SECRET_VARIABLES[0] && dev !== undefined) return dev.secret;
    if (name === "DATABASE_URL" && embedded !== undefined) return embedded.url;
    return env(name);
  });
}

function createStore(
  config: Config,
  embedded: EmbeddedDatabase | undefined,
): Promise<SyncStore> {
  return embedded === undefined
    ? openStore(config.database)
    // One call at a time: PGlite runs one statement at a time, in this very process.
    : Promise.resolve(createSyncStore(openPGliteDatabase(embedded.db), { maxCalls: 1 }));
}

/** Where the writes go, for the banner; never credentials. */
function describeDatabase(config: Config, embedded: EmbeddedDatabase | undefined): string[] {
  if (embedded !== undefined) {
    return [
      `Database: embedded ${embedded.version} in ${displayPath(PGLITE_DIR)}`,
      embedded.applied.length > 0
        ? `Migrations: applied ${embedded.applied.join(", ")} with supabase db push`
        : `Migrations: up to date (${embedded.recorded.join(", ")})`,
    ];
  }
  const { database } = config;
  if (database.transport === "supabase") {
    return [`Database: Supabase project at SUPABASE_URL (${database.url}), through its Data API`];
  }
  const url = new URL(database.url);
  return [`Database: PostgreSQL at DATABASE_URL (${url.protocol}//${url.host}${url.pathname})`];
}

/**
 * Stops before listening when the database cannot take writes: it lacks the sync's
 * migrations (the advice names `supabase db push`), or it cannot be reached.
 */
async function checkDatabase(
  store: SyncStore,
  config: Config,
  embedded: EmbeddedDatabase | undefined,
): Promise<void> {
  try {
    await store.checkSchema();
  } catch (error) {
    await store.close();
    const where = describeDatabase(config, embedded)[0]!.replace(/^Database: /, "");
    if (error instanceof SchemaMismatchError) throw new Error(`${where}: ${error.message}`);
    throw new Error(
      `Cannot reach ${where}: ${
        (error as Error).message
      }; check the setting and that the database runs`,
    );
  }
}

function banner(lines: string[], functionUrl: string, dev: DevSecret | undefined): string {
  const variable = configuredSecretVariable(env);
  const secret = dev === undefined
    ? `Signing secret: from ${variable} (npm run send signs with it when it is set there too)`
    : `Signing secret: ${dev.secret} (development secret, ${
      dev.created ? "created in" : "from"
    } .data/webhook_secret)`;
  return [
    ...lines,
    secret,
    `Listening on ${functionUrl}/`,
    "",
    "Send signed events from another terminal:",
    "  npm run send -- user.created",
    "  npm run send -- user.updated --first-name Ada",
    "  npm run send -- user.deleted",
    "List the synced users:",
    "  npm run users",
    "Press Ctrl-C to stop.",
    "",
  ].join("\n");
}

function listen(port: number, handler: Deno.ServeHandler): Deno.HttpServer {
  try {
    return Deno.serve({ port, onListen: () => {} }, handler);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Error(`Port ${port} is in use: stop what uses it, or set PORT to another port`);
  }
}

/** Serves the function on the configured transport, and records where. */
async function serve(dev: DevSecret | undefined, embedded: EmbeddedDatabase | undefined) {
  const config = readLocalConfig(dev, embedded);
  const store = await createStore(config, embedded);
  await checkDatabase(store, config, embedded);
  const port = config.port ?? DEFAULT_PORT;
  const functionUrl = `http://localhost:${port}`;
  const verifier = new WebhookVerifier(config.secrets);
  const server = listen(port, createHandler({ verifier, store }));
  await writeRunningServer({
    pid: Deno.pid,
    functionUrl,
    ...(embedded === undefined ? {} : { databaseUrl: embedded.url }),
  });
  return { config, store, server, functionUrl };
}

async function main(): Promise<void> {
  const dev = configuredSecretVariable(env) === undefined ? await ensureDevSecret() : undefined;
  let embedded: EmbeddedDatabase | undefined;
  if (!["DATABASE_URL", "SUPABASE_URL"].some((name) => env(name)?.trim())) {
    await ensureNotRunning();
    embedded = await openEmbeddedDatabase();
  }
  let serving: Awaited<ReturnType<typeof serve>>;
  try {
    serving = await serve(dev, embedded);
  } catch (error) {
    await embedded?.close();
    throw error;
  }
  const { config, store, server, functionUrl } = serving;
  console.log(banner(describeDatabase(config, embedded), functionUrl, dev));

  let stopping = false;
  const stop = async (signal: Deno.Signal) => {
    if (stopping) Deno.exit(130);
    stopping = true;
    console.log(`${signal}: stopping`);
    await server.shutdown();
    await store.close();
    await embedded?.close();
    await removeRunningServer();
    console.log(
      embedded === undefined ? "Stopped" : `Stopped; the data stays in ${displayPath(PGLITE_DIR)}`,
    );
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void stop(signal));
  }
}

try {
  await main();
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? `Configuration error: ${error.message}`
      : error instanceof Error
      ? error.message
      : error,
  );
  Deno.exit(1);
}
