/**
 * The function's routes: the webhook (read → verify → parse → apply) and `POST /sync`
 * (sync_on_demand.ts), and the one place where errors become responses. Every request
 * writes one JSON log line (ids, never emails or names).
 */
import { MAX_BODY_BYTES, PayloadTooLargeError, readBody } from "./body.ts";
import { parseClerkEvent } from "./clerk_event.ts";
import { ConfigError } from "./config.ts";
import { InvalidEventError } from "./schema.ts";
import {
  type Outcome,
  SchemaMismatchError,
  StoreUnavailableError,
  type SyncStore,
  withTimeout,
} from "./store.ts";
import type { SyncOnDemand } from "./sync_on_demand.ts";
import { readSvixId, WebhookVerificationError, type WebhookVerifier } from "./verify.ts";

/** One request, as logged. */
export interface LogEntry {
  svix_id: string | null;
  type: string | null;
  clerk_id: string | null;
  outcome: Outcome | "present" | null;
  status: number;
  ms: number;
  error?: string;
}

/** What {@linkcode createHandler} wires together. */
export interface HandlerOptions {
  verifier: WebhookVerifier;
  store: SyncStore;
  /** Receives each request's log entry (default: one JSON line on stdout). */
  log?: (entry: LogEntry) => void;
  /** Largest body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** The clock, in epoch milliseconds. */
  now?: () => number;
  /** `POST /sync`; without it the path is the webhook's. */
  onDemand?: OnDemandRoute;
}

/** `POST /sync`, as the handler serves it. */
export interface OnDemandRoute {
  /** Origins a browser may call it from (CORS): the authorized parties. */
  origins: readonly string[];
  /** The service, loaded on the first call (its imports are not the webhook's). */
  load(): Promise<SyncOnDemand>;
}

/**
 * `POST /sync`, with or without the function's name before it (the hosted gateway passes
 * `/clerk-webhook/sync`).
 */
const SYNC_PATH = /^\/(?:clerk-webhook\/)?sync\/?$/;

/** Headers a browser may send to `/sync`: supabase-js's and the session token's. */
const SYNC_REQUEST_HEADERS = "authorization, x-client-info, apikey, content-type";

/** A refusal with its own status (and, where it passes, how long to wait). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Not a POST. */
class MethodNotAllowedError extends Error {
  override name = "MethodNotAllowedError";
}

/** The log entry of a request about which nothing is known yet. */
function newEntry(): LogEntry {
  return { svix_id: null, type: null, clerk_id: null, outcome: null, status: 0, ms: 0 };
}

/** Writes a log entry as one JSON line. */
export function logLine(entry: LogEntry): void {
  console.log(JSON.stringify(entry));
}

/** Creates the request handler of the clerk-webhook function. */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const { verifier, store, log = logLine, maxBodyBytes = MAX_BODY_BYTES, now = Date.now } = options;

  const { onDemand } = options;
  const syncRoute = onDemand === undefined ? undefined : createSyncRoute(onDemand, log);
  return async (request) => {
    if (syncRoute !== undefined && SYNC_PATH.test(new URL(request.url).pathname)) {
      return await syncRoute(request);
    }
    const started = performance.now();
    const entry = newEntry();
    let response: Response;
    // The svix-id a request claims is logged even when its signature fails, so that a
    // wrong secret can be traced to Clerk's delivery attempts.
    entry.svix_id = readSvixId(request.headers);
    let body: string | null = null;
    try {
      if (request.method !== "POST") throw new MethodNotAllowedError("Only POST is allowed");
      const delivery = verifier.verify(await readBody(request, maxBodyBytes), request.headers);
      entry.svix_id = delivery.id;
      body = delivery.body;
      const event = parseClerkEvent(delivery.body, now());
      entry.type = event.type;
      entry.clerk_id = event.objectId;
      entry.outcome = await store.apply(delivery.id, event);
      response = Response.json({ outcome: entry.outcome });
    } catch (error) {
      response = errorResponse(error, entry);
      // Only a verified delivery is Clerk's: nothing else writes anything.
      if (body !== null && REFUSALS.has(response.status)) {
        entry.type ??= typeOf(body);
        await recordRefusal(store, entry, response.status);
      }
    }
    entry.status = response.status;
    entry.ms = Math.round((performance.now() - started) * 100) / 100;
    log(entry);
    return response;
  };
}

/**
 * `POST /sync` (see sync_on_demand.ts): the caller's session token names the user; the
 * answer is `{ outcome, user }`. A browser calling from one of the authorized origins gets
 * CORS headers and its preflight answered; any other origin gets none.
 */
function createSyncRoute(
  onDemand: OnDemandRoute,
  log: (entry: LogEntry) => void,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const started = performance.now();
    const entry = { ...newEntry(), type: "sync" };
    const origin = request.headers.get("origin");
    const cors: Record<string, string> = origin !== null && onDemand.origins.includes(origin)
      ? { "Access-Control-Allow-Origin": origin, Vary: "Origin" }
      : {};
    let response: Response;
    if (request.method === "OPTIONS") {
      response = cors["Access-Control-Allow-Origin"] === undefined
        ? new Response(null, { status: 403 })
        : new Response(null, {
          status: 204,
          headers: {
            ...cors,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": SYNC_REQUEST_HEADERS,
            "Access-Control-Max-Age": "600",
          },
        });
    } else {
      try {
        await request.body?.cancel();
        if (request.method !== "POST") throw new MethodNotAllowedError("Only POST is allowed");
        const service = await onDemand.load();
        entry.clerk_id = await service.userOf(request.headers.get("authorization"));
        const answer = await service.sync(entry.clerk_id);
        entry.outcome = answer.outcome;
        response = Response.json(answer);
      } catch (error) {
        response = errorResponse(error, entry);
      }
      for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    }
    entry.status = response.status;
    entry.ms = Math.round((performance.now() - started) * 100) / 100;
    log(entry);
    return response;
  };
}

/**
 * Answers of a verified delivery that the status report counts as refused: Clerk sent
 * what the sync cannot read (422), or applying it failed for good (500). A 503 is not
 * one (the retry will apply it), nor is an unverified request (it is not Clerk's, and
 * must write nothing).
 */
const REFUSALS = new Set([422, 500]);

/** Time allowed for recording a refusal; the answer does not wait longer. */
const REFUSAL_TIMEOUT_MS = 2_000;

/**
 * Records the refused delivery of `entry`, answered `status`, for the status report,
 * waiting at most REFUSAL_TIMEOUT_MS; a failure to record is logged and changes
 * nothing of the answer.
 */
async function recordRefusal(store: SyncStore, entry: LogEntry, status: number): Promise<void> {
  const refusal = { svixId: entry.svix_id!, type: entry.type, status, reason: entry.error ?? "" };
  try {
    await withTimeout(
      store.recordRefusal(refusal),
      REFUSAL_TIMEOUT_MS,
      () => new Error("no answer in time"),
    );
  } catch (error) {
    entry.error = `${entry.error} (not recorded as refused: ${(error as Error).message})`;
  }
}

/** The event type a verified body names, if it names one in a short string. */
function typeOf(body: string | null): string | null {
  try {
    const type = (JSON.parse(body ?? "") as { type?: unknown } | null)?.type;
    return typeof type === "string" && type.length <= 100 ? type : null;
  } catch {
    return null;
  }
}

/** A handler for a function whose configuration is unusable: it accepts nothing. */
export function createMisconfiguredHandler(
  error: ConfigError,
  log: (entry: LogEntry) => void = logLine,
): (request: Request) => Promise<Response> {
  return (request) => {
    // The body is not read: nothing can be verified without a valid secret.
    request.body?.cancel().catch(() => {});
    const entry = newEntry();
    const response = errorResponse(error, entry);
    entry.status = response.status;
    log(entry);
    return Promise.resolve(response);
  };
}

/** Turns an error into its response; the log entry gets the detail, the client does not. */
function errorResponse(error: unknown, entry: LogEntry): Response {
  const [status, message] = describe(error);
  entry.error = error instanceof Error && status >= 500
    ? `${error.name}: ${error.message}`
    : message;
  const headers: Record<string, string> = status === 405 ? { Allow: "POST" } : {};
  if (error instanceof HttpError && error.retryAfterSeconds !== undefined) {
    headers["Retry-After"] = String(error.retryAfterSeconds);
  } else if (status === 503) {
    headers["Retry-After"] = "5";
  }
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer error="invalid_token"';
  return Response.json({ error: message }, { status, headers });
}

function describe(error: unknown): [status: number, message: string] {
  if (error instanceof MethodNotAllowedError) return [405, error.message];
  if (error instanceof HttpError) return [error.status, error.message];
  if (error instanceof PayloadTooLargeError) return [413, error.message];
  if (error instanceof WebhookVerificationError) return [400, error.message];
  if (error instanceof InvalidEventError) return [422, error.message];
  if (error instanceof SchemaMismatchError) {
    return [503, "The database lacks the sync's migrations: run `supabase db push`; retry later"];
  }
  if (error instanceof StoreUnavailableError) return [503, "Database unavailable; retry later"];
  if (error instanceof ConfigError) return [500, "The function is misconfigured; see its logs"];
  return [500, "Internal error"];
}
