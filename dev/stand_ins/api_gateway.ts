/**
 * A stand-in for the API gateway (Kong) in front of a Supabase project's PostgREST: the
 * one job of it that supabase-js relies on and that cannot run here (Kong needs Docker).
 * It follows Supabase's documented behaviour for the project's API keys
 * (supabase.com/docs/guides/api/api-keys; supabase/cli's Kong template,
 * apps/cli-go/internal/start/start.go):
 *
 * - `/rest/v1/<path>` goes to PostgREST as `/<path>`; any other path is 404.
 * - The `apikey` header must hold one of the project's keys, else 401
 *   `{ message, hint }` ("No API key found in request", "Invalid API key").
 * - The secret key (`sb_secret_…`) becomes a short-lived HS256 JWT with
 *   `role: service_role`, the publishable key (`sb_publishable_…`) one with
 *   `role: anon`, signed with the project's JWT secret, in `Authorization`. A legacy
 *   JWT key (`eyJ…`) is passed on as the bearer token, for PostgREST to verify.
 * - An `Authorization: Bearer` token other than the key (a user's session, from
 *   Supabase Auth or Clerk) passes through unchanged, for PostgREST to verify; a bearer
 *   that is itself an `sb_` key is replaced, as Kong does.
 * - `/functions/v1/<name>/<path>` goes to the process serving function `<name>` as
 *   `/<name>/<path>`, the path a function sees on Supabase's edge runtime, for the
 *   functions given in `functions`; others are 404. It needs no `apikey` (Clerk's
 *   webhooks carry none) and checks no JWT: this is the gateway of a function deployed
 *   with `verify_jwt = false`, as clerk-webhook is. A user's bearer passes through
 *   untouched, `Authorization` included, for the function to verify; a known `apikey`
 *   without one gets its key's token, as on the REST route.
 *
 * Not reproduced: the refusal of secret keys sent by browsers, rate limits, CORS, the
 * `apikey` query parameter, the JWT check of functions deployed with `verify_jwt = true`,
 * and the other services (auth, storage, realtime).
 */
import { signJwt } from "../jwt.ts";

/** Options of {@linkcode startApiGatewayStandIn}. */
export interface ApiGatewayStandInOptions {
  /** PostgREST's base URL (dev/postgrest.ts). */
  postgrestUrl: string;
  /** The project's JWT secret (PostgREST's `jwt-secret`), which signs the keys' tokens. */
  jwtSecret: string;
  /** The project's secret key (`sb_secret_…`). */
  secretKey: string;
  /** The project's publishable key (`sb_publishable_…`). */
  publishableKey?: string;
  /** The port to listen on at 127.0.0.1; by default any free port. */
  port?: number;
  /** Edge Functions to route to: a function's name → the base URL of a process serving it. */
  functions?: Record<string, string>;
}

/** A running gateway; `url` is the project URL supabase-js takes (`SUPABASE_URL`). */
export interface ApiGatewayStandIn extends AsyncDisposable {
  url: string;
  close(): Promise<void>;
}

/** Seconds the tokens of the keys live; one is reused until it has less than half left. */
const TOKEN_SECONDS = 60;
const REST = "/rest/v1";
const FUNCTIONS = /^\/functions\/v1\/([^/]+)(\/.*)?$/;

/** Starts the gateway on 127.0.0.1. */
export function startApiGatewayStandIn(options: ApiGatewayStandInOptions): ApiGatewayStandIn {
  const roles = new Map([[options.secretKey, "service_role"]]);
  if (options.publishableKey !== undefined) roles.set(options.publishableKey, "anon");
  const tokens = new Map<string, { token: Promise<string>; renewAt: number }>();

  /** The bearer token PostgREST gets for `apikey`, or undefined for an unknown key. */
  function keyToken(apikey: string): Promise<string> | undefined {
    const role = roles.get(apikey);
    if (role === undefined) {
      return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(apikey) ? Promise.resolve(apikey) : undefined;
    }
    const now = Math.floor(Date.now() / 1000);
    let cached = tokens.get(role);
    if (cached === undefined || now >= cached.renewAt) {
      const claims = { iss: "supabase", role, iat: now, exp: now + TOKEN_SECONDS };
      cached = { token: signJwt(claims, options.jwtSecret), renewAt: now + TOKEN_SECONDS / 2 };
      tokens.set(role, cached);
    }
    return cached.token;
  }

  /**
   * Kong's rule for `Authorization` (the CLI's request-transformer): a user's bearer
   * stays; none, the key itself, or an `sb_` key as bearer becomes `token`.
   */
  function authorize(headers: Headers, apikey: string, token: string): void {
    const bearer = headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (bearer === undefined || bearer === apikey || bearer.startsWith("sb_")) {
      headers.set("authorization", `Bearer ${token}`);
    }
  }

  async function rest(request: Request, url: URL): Promise<Response> {
    const apikey = request.headers.get("apikey");
    if (apikey === null) {
      return json(401, {
        message: "No API key found in request",
        hint: "No `apikey` request header or url param was found.",
      });
    }
    const token = await keyToken(apikey);
    if (token === undefined) {
      return json(401, {
        message: "Invalid API key",
        hint: "Double check your Supabase `anon` or `service_role` API key.",
      });
    }
    const headers = new Headers(request.headers);
    authorize(headers, apikey, token);
    const upstream = new URL(options.postgrestUrl);
    upstream.pathname = url.pathname.slice(REST.length) || "/";
    return await forward(request, upstream, url, headers);
  }

  async function functions(request: Request, url: URL, name: string): Promise<Response> {
    const base = options.functions?.[name];
    if (base === undefined) return json(404, { message: `No function ${name} here` });
    const headers = new Headers(request.headers);
    const apikey = headers.get("apikey");
    const token = apikey === null ? undefined : await keyToken(apikey);
    if (apikey !== null && token !== undefined) authorize(headers, apikey, token);
    const upstream = new URL(base);
    upstream.pathname = url.pathname.slice("/functions/v1".length);
    return await forward(request, upstream, url, headers);
  }

  async function forward(
    request: Request,
    upstream: URL,
    url: URL,
    headers: Headers,
  ): Promise<Response> {
    headers.delete("host");
    upstream.search = url.search;
    try {
      const response = await fetch(upstream, {
        method: request.method,
        headers,
        body: request.body === null ? null : await request.arrayBuffer(),
        redirect: "manual",
      });
      return new Response(response.body, { status: response.status, headers: response.headers });
    } catch {
      return json(502, { message: "An invalid response was received from the upstream server" });
    }
  }

  function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === REST || url.pathname.startsWith(`${REST}/`)) return rest(request, url);
    const name = url.pathname.match(FUNCTIONS)?.[1];
    if (name !== undefined) return functions(request, url, name);
    return Promise.resolve(json(404, { message: "no Route matched with those values" }));
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handle,
  );
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function json(status: number, body: Record<string, string>): Response {
  return Response.json(body, { status });
}
