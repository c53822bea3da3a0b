/**
 * The two transports of the function, for tests that run the same deliveries through
 * both: the direct PostgreSQL pool, and supabase-js through the Data API (the real
 * PostgREST behind the API gateway stand-in, dev/data_api.ts).
 */
import { createHandler, type LogEntry } from "../../functions/clerk-webhook/handler.ts";
import {
  DEFAULT_MAX_CALLS,
  type GroupCommitOptions,
} from "../../functions/clerk-webhook/group_commit.ts";
import { openPostgresDatabase } from "../../functions/clerk-webhook/postgres_database.ts";
import type { SyncStore } from "../../functions/clerk-webhook/store.ts";
import { openSupabaseDatabase } from "../../functions/clerk-webhook/supabase_database.ts";
import { createSyncStore } from "../../functions/clerk-webhook/sync_store.ts";
import { WebhookVerifier } from "../../functions/clerk-webhook/verify.ts";
import {
  type DenoRuntime,
  type FunctionProcess,
  LOCAL_DENO,
  startFunction,
} from "../../dev/function_process.ts";
import { POSTGREST_MISSING, startDataApi } from "../../dev/data_api.ts";
import { type LocalServer, serveLocally } from "./server.ts";
import { type ScratchDatabase, scratchDatabase } from "../../dev/database.ts";
import { deliver, newSecret } from "../../dev/webhooks.ts";

/** Which way the writes go. */
export type Transport = "direct" | "supabase";

/** Both transports, in the order tests run them. */
export const TRANSPORTS: readonly Transport[] = ["direct", "supabase"];

let toldWhyIgnored = false;

/**
 * Deno.test options of a test that needs `transport`: the Supabase transport needs
 * PostgREST, and where npm has no build of it the test is ignored (never passed), the
 * reason printed once.
 */
export function onTransport(transport: Transport): { ignore: boolean } {
  const ignore = transport === "supabase" && POSTGREST_MISSING !== undefined;
  if (ignore && !toldWhyIgnored) {
    toldWhyIgnored = true;
    console.warn(`Ignoring the tests through the Data API: ${POSTGREST_MISSING}`);
  }
  return { ignore };
}

/**
 * `Deno.test(name, fn)` for a test that needs `transport`, ignored as
 * {@linkcode onTransport} says.
 */
export function testOn(
  transport: Transport,
): (name: string, fn: () => void | Promise<void>) => void {
  const options = onTransport(transport);
  return (name, fn) => Deno.test(name, options, fn);
}

/**
 * The function's store on a direct pool to `url`, batching as `options` say, with a
 * connection per call in flight and one for refusals (as openStore() sizes it).
 */
export function directStore(url: string, options: GroupCommitOptions = {}): SyncStore {
  return createSyncStore(
    openPostgresDatabase(url, { max: (options.maxCalls ?? DEFAULT_MAX_CALLS) + 1 }),
    options,
  );
}

/** The function's store through the Data API at `url` with the secret key `key`. */
export function dataApiStore(
  url: string,
  key: string,
  options: GroupCommitOptions = {},
): SyncStore {
  return createSyncStore(openSupabaseDatabase(url, key), options);
}

/** A store that closes what it started (for Supabase, the Data API too). */
export type OpenedStore = SyncStore & AsyncDisposable;

/** A store writing into `databaseUrl` through `transport`. */
export async function openTransport(
  transport: Transport,
  databaseUrl: string,
): Promise<OpenedStore> {
  if (transport === "direct") {
    const store = directStore(databaseUrl);
    return { ...store, [Symbol.asyncDispose]: () => store.close() };
  }
  const secretKey = `sb_secret_${crypto.randomUUID()}`;
  const api = await startDataApi({ databaseUrl, secretKey });
  const store = dataApiStore(api.url, secretKey);
  const close = async () => {
    await store.close();
    await api.close();
  };
  return { ...store, close, [Symbol.asyncDispose]: close };
}

/** A store of `transport` whose database is unreachable (a closed port): every apply fails. */
export function unreachableStore(transport: Transport): SyncStore {
  return transport === "direct"
    ? directStore("postgres://postgres@127.0.0.1:1/none")
    : dataApiStore("http://127.0.0.1:1", "sb_secret_unreachable");
}

/** The webhook handler for `secret`, writing to `store`, served over HTTP. */
export function serveHandler(
  store: SyncStore,
  secret: string,
  log: (entry: LogEntry) => void = () => {},
): LocalServer {
  return serveLocally(createHandler({ verifier: new WebhookVerifier([secret]), store, log }));
}

/**
 * Runs `fn` with a fresh scratch database and the handler writing into it through
 * `transport`; `send` signs and posts a payload and answers its outcome, or
 * `HTTP <status>: <body>` when it was not a 200.
 */
export async function withHandler(
  transport: Transport,
  fn: (db: ScratchDatabase, send: (payload: unknown) => Promise<unknown>) => Promise<void>,
): Promise<void> {
  await using db = await scratchDatabase();
  await using store = await openTransport(transport, db.url);
  const secret = newSecret();
  await using server = serveHandler(store, secret);
  await fn(db, async (payload) => {
    const { status, body } = await deliver(server.url, payload, { secret });
    return status === 200 ? body.outcome : `HTTP ${status}: ${JSON.stringify(body)}`;
  });
}

/**
 * The function as its own process (dev/function_process.ts) on `runtime`, with signing
 * `secret`, writing into `databaseUrl` through `transport`: `DATABASE_URL` for the
 * direct one, or the Data API for `databaseUrl` and `SUPABASE_URL` with a secret key.
 */
export async function startFunctionOn(
  transport: Transport,
  databaseUrl: string,
  secret: string,
  runtime: DenoRuntime = LOCAL_DENO,
): Promise<FunctionProcess> {
  if (transport === "direct") {
    return await startFunction(
      { CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: databaseUrl },
      { runtime },
    );
  }
  const secretKey = `sb_secret_${crypto.randomUUID()}`;
  const api = await startDataApi({ databaseUrl, secretKey });
  const fn = await startFunction({
    CLERK_WEBHOOK_SECRET: secret,
    SUPABASE_URL: api.url,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
  }, { runtime }).catch(async (error) => {
    await api.close();
    throw error;
  });
  return {
    ...fn,
    async [Symbol.asyncDispose]() {
      await fn[Symbol.asyncDispose]();
      await api.close();
    },
  };
}
