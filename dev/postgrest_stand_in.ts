/**
 * A stand-in for the Supabase Data API in tests: the API gateway's key check in front
 * of PostgREST's RPC endpoint, serving a real PostgreSQL database.
 *
 * Neither PostgREST nor the Supabase API gateway can be installed on this machine (no
 * PostgREST binary is installable and there is no Docker engine for `supabase start`),
 * so this module reproduces the part of them that supabase-js and the Clerk webhook's
 * Supabase transport rely on, following PostgREST's documented behaviour:
 *
 * - `POST /rest/v1/rpc/<function>` calls a function of schema `public`; the JSON body
 *   holds the named arguments. The function is looked up in `pg_proc` by name and by
 *   the argument names given (arguments with defaults may be left out) and cached, as
 *   PostgREST's schema cache does; none matching is 404 `PGRST202`. The call runs as
 *   PostgREST runs it: one transaction, `set_config('role', …, true)`,
 *   `set_config('request.jwt.claims', …, true)` (and `request.method`, `request.path`,
 *   `request.headers`, `search_path`), then the function with named notation, its
 *   arguments cast from the JSON body by `json_to_record()`. A scalar or composite
 *   result is answered as JSON, a set as a JSON array, `void` as 204.
 * - `GET /rest/v1/<table>` reads a table of `public` in a read-only transaction, with
 *   the same role and claims, so row-level security applies. Only `select=` with `*`
 *   or plain column names, `<column>=eq.<value>` and `<column>=gt.<value>` filters,
 *   `order=<column>[.asc|.desc],…` and `limit=<n>` are understood.
 * - Keys, as the gateway checks them: the `apikey` header and the
 *   `Authorization: Bearer` token. The secret key (`sb_secret_…`) acts as
 *   `service_role`, the publishable key as `anon`, an HS256 JWT signed with the JWT
 *   secret as the `role` of its claims (`anon` without one); a bearer token other than
 *   the `apikey` itself (a user's session token) decides the role. Anything else is 401.
 * - Errors are JSON `{ code, details, hint, message }` with PostgREST's mapping of
 *   SQLSTATEs to HTTP statuses; an unreachable database is 503 `PGRST000`/`PGRST001`.
 *
 * Not reproduced: other routes and methods, `Prefer` headers, functions taking one
 * unnamed json argument, overloads told apart by argument types, the role settings
 * (`statement_timeout`) PostgREST applies when switching roles, CORS, and the
 * schema cache reload on `NOTIFY pgrst`.
 */
import postgres from "postgres";

/** Options of {@linkcode startPostgrestStandIn}. */
export interface PostgrestStandInOptions {
  /** A postgres URL of the database to serve; the stand-in connects as `authenticator`. */
  databaseUrl: string;
  /** The project's JWT secret: HS256 tokens signed with it are accepted. */
  jwtSecret: string;
  /** The project's secret key (`sb_secret_…`), which acts as `service_role`. */
  secretKey: string;
  /** The project's publishable key (`sb_publishable_…`), which acts as `anon`. */
  publishableKey?: string;
  /** The port to listen on at 127.0.0.1; by default any free port. */
  port?: number;
}

/** A running stand-in; `url` is what supabase-js takes as `SUPABASE_URL`. */
export interface PostgrestStandIn extends AsyncDisposable {
  /** The base URL, such as `http://127.0.0.1:54321`. */
  url: string;
  /** Stops the server and closes the connection pool. */
  close(): Promise<void>;
}

/** The role PostgREST falls back to without a role claim (`db-anon-role`). */
const ANON_ROLE = "anon";
/** Seconds of clock skew PostgREST allows when checking `exp`. */
const CLOCK_SKEW_SECONDS = 30;
/** The schema served, and the `search_path` Supabase configures for PostgREST. */
const SCHEMA = "public";
const SEARCH_PATH = "public, extensions";
/** Errors of the connection rather than of a statement (node:net and postgres.js codes). */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "CONNECT_TIMEOUT"]);
const LOST_CONNECTION_ERRORS = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);
/** PostgREST's mapping of SQLSTATEs to HTTP statuses: exact codes, then classes. */
const STATUS_BY_SQLSTATE: Record<string, number> = {
  "23503": 409,
  "23505": 409,
  "25006": 405,
  "53400": 500,
  "P0001": 400,
  "42883": 404,
  "42P01": 404,
  "42P17": 500,
};
const STATUS_BY_SQLSTATE_CLASS: Record<string, number> = {
  "08": 503,
  "09": 500,
  "0L": 403,
  "0P": 403,
  "25": 500,
  "28": 403,
  "2D": 500,
  "38": 500,
  "39": 500,
  "3B": 500,
  "40": 500,
  "53": 503,
  "54": 500,
  "55": 500,
  "57": 500,
  "58": 500,
  "F0": 500,
  "HV": 500,
  "P0": 500,
  "XX": 500,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An answer other than success, with the body PostgREST gives its errors. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Who a request acts as: the database role and the claims of its JWT. */
interface Identity {
  role: string;
  claims: Record<string, unknown>;
}

/** A candidate function of the schema cache. */
interface Routine {
  returnsSet: boolean;
  returnsVoid: boolean;
  /** Input arguments in declaration order; the last `defaults` of them have defaults. */
  args: { name: string | null; type: string }[];
  defaults: number;
}

/**
 * Starts the stand-in on 127.0.0.1 with a pool of 10 connections to `databaseUrl` as
 * the login role `authenticator`.
 */
export async function startPostgrestStandIn(
  options: PostgrestStandInOptions,
): Promise<PostgrestStandIn> {
  const databaseUrl = new URL(options.databaseUrl);
  databaseUrl.username = "authenticator";
  databaseUrl.password = "";
  const sql = postgres(databaseUrl.href, {
    max: 10,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { application_name: "postgrest-stand-in" },
  });
  const jwtKey = await hmacKey(options.jwtSecret);
  const routines = new Map<string, Promise<Routine[]>>();

  async function identify(token: string): Promise<Identity> {
    if (token === options.secretKey) {
      return { role: "service_role", claims: { role: "service_role" } };
    }
    if (token === options.publishableKey) return { role: ANON_ROLE, claims: { role: ANON_ROLE } };
    if (token.startsWith("sb_")) throw new ApiError(401, "PGRST301", "Invalid API key");
    const claims = await verifyJwt(token, jwtKey);
    return { role: typeof claims.role === "string" ? claims.role : ANON_ROLE, claims };
  }

  async function authenticate(request: Request): Promise<Identity> {
    const apikey = request.headers.get("apikey");
    const bearer = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (apikey === null && bearer === undefined) {
      throw new ApiError(
        401,
        "PGRST302",
        "No API key found in request",
        null,
        "No `apikey` request header or url param was found.",
      );
    }
    const keyIdentity = apikey === null ? undefined : await identify(apikey);
    // A session token beside the key (Supabase Auth or Clerk) decides the role.
    if (bearer !== undefined && bearer !== apikey) return await identify(bearer);
    return keyIdentity as Identity;
  }

  /** The functions `public.<name>`, read once from pg_proc like PostgREST's schema cache. */
  function routinesNamed(name: string): Promise<Routine[]> {
    let cached = routines.get(name);
    if (cached === undefined) {
      cached = sql<Routine[]>`
        select
          p.proretset as "returnsSet",
          p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as "returnsVoid",
          p.pronargdefaults as defaults,
          coalesce(
            json_agg(json_build_object('name', a.name, 'type', format_type(a.type, null))
              order by a.position)
              filter (where a.position is not null and coalesce(a.mode, 'i') in ('i', 'b', 'v')),
            '[]'
          ) as args
        from pg_catalog.pg_proc p
        join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        left join lateral unnest(
          coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargmodes, p.proargnames
        ) with ordinality as a(type, mode, name, position) on true
        where n.nspname = ${SCHEMA} and p.proname = ${name} and p.prokind = 'f'
        group by p.oid`.then((rows) => [...rows]);
      cached.catch(() => routines.delete(name));
      routines.set(name, cached);
    }
    return cached;
  }

  async function findRoutine(name: string, given: string[]): Promise<Routine> {
    const candidates = (await routinesNamed(name)).filter((routine) => {
      const required = routine.args.slice(0, routine.args.length - routine.defaults);
      return given.every((key) => routine.args.some((arg) => arg.name === key)) &&
        required.every((arg) => arg.name !== null && given.includes(arg.name));
    });
    const signature = `${SCHEMA}.${name}(${given.join(", ")})`;
    if (candidates.length === 0) {
      throw new ApiError(
        404,
        "PGRST202",
        `Could not find the function ${signature} in the schema cache`,
        `Searched for the function ${SCHEMA}.${name} with ${
          given.length === 0 ? "no parameters" : `parameters ${given.join(", ")}`
        }, but no matches were found in the schema cache.`,
      );
    }
    if (candidates.length > 1) {
      throw new ApiError(
        300,
        "PGRST203",
        `Could not choose the best candidate function for ${signature}`,
      );
    }
    return candidates[0] as Routine;
  }

  /** Runs `fn` in one transaction as `identity`, with the settings PostgREST gives a request. */
  function asIdentity<T>(
    identity: Identity,
    request: Request,
    mode: "read write" | "read only",
    fn: (tx: postgres.TransactionSql) => Promise<T>,
  ): Promise<T> {
    const headers = JSON.stringify(Object.fromEntries(request.headers));
    return sql.begin(mode, async (tx) => {
      await tx`
        select
          set_config('role', ${identity.role}, true),
          set_config('request.jwt.claims', ${JSON.stringify(identity.claims)}, true),
          set_config('request.method', ${request.method}, true),
          set_config('request.path', ${new URL(request.url).pathname}, true),
          set_config('request.headers', ${headers}, true),
          set_config('search_path', ${SEARCH_PATH}, true)`;
      return await fn(tx);
    }) as Promise<T>;
  }

  async function callFunction(
    name: string,
    request: Request,
    identity: Identity,
  ): Promise<Response> {
    const args = parseArguments(await request.text());
    const given = Object.keys(args);
    const routine = await findRoutine(name, given);
    const inputs = routine.args.flatMap(({ name, type }) =>
      name !== null && given.includes(name) ? [{ name: identifier(name), type }] : []
    );
    const call = `${SCHEMA}.${identifier(name)}(${
      inputs.map((arg) => `${arg.name} => _.${arg.name}`).join(", ")
    })`;
    const source = inputs.length === 0
      ? ""
      : `json_to_record($1::text::json) as _(${
        inputs.map((arg) => `${arg.name} ${arg.type}`).join(", ")
      })`;
    const query = routine.returnsSet
      ? `select coalesce(json_agg(_r), '[]')::text as body from ${
        source ? `${source}, ` : ""
      }lateral ${call} as _r`
      : `select to_json(${call})::text as body${source ? ` from ${source}` : ""}`;
    const parameters = source ? [JSON.stringify(args)] : [];
    const rows = await asIdentity(
      identity,
      request,
      "read write",
      (tx) => tx.unsafe(query, parameters),
    );
    if (routine.returnsVoid) return new Response(null, { status: 204 });
    return json(200, rows[0]?.body ?? "null");
  }

  async function readTable(name: string, request: Request, identity: Identity): Promise<Response> {
    let columns = "*";
    let order = "";
    let limit = "";
    const conditions: string[] = [];
    const values: string[] = [];
    for (const [key, value] of new URL(request.url).searchParams) {
      if (key === "select") {
        columns = selectList(value);
        continue;
      }
      if (key === "order") {
        order = ` order by ${orderList(value)}`;
        continue;
      }
      if (key === "limit" && /^[0-9]+$/.test(value)) {
        limit = ` limit ${Number(value)}`;
        continue;
      }
      const match = value.match(/^(eq|gt)\.(.*)$/s);
      if (match === null) {
        throw new ApiError(
          400,
          "PGRST100",
          `Unsupported query parameter "${key}=${value}"`,
          null,
          "The stand-in understands select, order, limit, and eq and gt filters only",
        );
      }
      values.push(match[2] as string);
      conditions.push(`${identifier(key)} ${match[1] === "eq" ? "=" : ">"} $${values.length}`);
    }
    const where = conditions.length === 0 ? "" : ` where ${conditions.join(" and ")}`;
    const table = `${SCHEMA}.${identifier(name)}`;
    const rowsQuery = `select ${columns} from ${table}${where}${order}${limit}`;
    const query = `select coalesce(json_agg(_r), '[]')::text as body from (${rowsQuery}) _r`;
    const rows = await asIdentity(identity, request, "read only", (tx) => tx.unsafe(query, values));
    return json(200, rows[0]?.body ?? "[]");
  }

  async function handle(request: Request): Promise<Response> {
    let identity: Identity | undefined;
    try {
      identity = await authenticate(request);
      const route = new URL(request.url).pathname.match(/^\/rest\/v1\/(rpc\/)?([^/]+)$/);
      if (route === null) {
        throw new ApiError(404, "PGRST125", "Invalid path specified in request URL");
      }
      const profile = request.headers.get("content-profile") ??
        request.headers.get("accept-profile");
      if (profile !== null && profile !== SCHEMA) {
        throw new ApiError(406, "PGRST106", `The schema must be one of the following: ${SCHEMA}`);
      }
      const name = decodeURIComponent(route[2] as string);
      const method = route[1] === undefined ? "GET" : "POST";
      if (request.method !== method) {
        throw new ApiError(405, "PGRST117", `Unsupported HTTP method: ${request.method}`);
      }
      return route[1] === undefined
        ? await readTable(name, request, identity)
        : await callFunction(name, request, identity);
    } catch (error) {
      return errorResponse(toApiError(error, identity?.role ?? ANON_ROLE));
    }
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handle,
  );
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await server.shutdown();
      // No query is under way once the server is down; a pool whose backends were killed
      // would otherwise wait out the whole timeout.
      await sql.end({ timeout: 0 });
    })();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Signs `claims` as an HS256 JWT with `secret`, as Supabase Auth, or Clerk through
 * third-party auth, issues session tokens for a project.
 */
export async function signJwt(claims: Record<string, unknown>, secret: string): Promise<string> {
  const content = `${base64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64Url(JSON.stringify(claims))
  }`;
  const signature = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(content),
  );
  return `${content}.${base64Url(new Uint8Array(signature))}`;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

function base64Url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new SyntaxError("Invalid base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Checks an HS256 JWT's signature and expiry and returns its claims. */
async function verifyJwt(token: string, key: CryptoKey): Promise<Record<string, unknown>> {
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw new ApiError(401, "PGRST301", `Expected 3 parts in JWT; got ${parts.length}`);
  }
  const [header, payload, signature] = parts as [string, string, string];
  let alg: unknown;
  let claims: unknown;
  let signatureBytes: Uint8Array<ArrayBuffer>;
  try {
    alg = JSON.parse(decoder.decode(fromBase64Url(header)))?.alg;
    claims = JSON.parse(decoder.decode(fromBase64Url(payload)));
    signatureBytes = fromBase64Url(signature);
  } catch {
    throw new ApiError(401, "PGRST301", "Invalid JWT: not base64url-encoded JSON");
  }
  if (alg !== "HS256") {
    throw new ApiError(401, "PGRST301", `Unsupported JWT algorithm ${JSON.stringify(alg)}`);
  }
  if (
    !await crypto.subtle.verify("HMAC", key, signatureBytes, encoder.encode(`${header}.${payload}`))
  ) {
    throw new ApiError(401, "PGRST301", "JWT signature does not match");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new ApiError(401, "PGRST301", "JWT claims are not a JSON object");
  }
  const { exp } = claims as { exp?: unknown };
  if (typeof exp === "number" && Date.now() / 1000 > exp + CLOCK_SKEW_SECONDS) {
    throw new ApiError(401, "PGRST303", "JWT expired");
  }
  return claims as Record<string, unknown>;
}

/** The named arguments of an RPC body; an empty body is no arguments. */
function parseArguments(body: string): Record<string, unknown> {
  let args: unknown = {};
  try {
    if (body.trim() !== "") args = JSON.parse(body);
  } catch (error) {
    throw new ApiError(400, "PGRST102", "Empty or invalid json", (error as Error).message);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new ApiError(
      400,
      "PGRST102",
      "Empty or invalid json",
      "Expected a JSON object of named arguments",
    );
  }
  return args as Record<string, unknown>;
}

/** The columns of `select=`: `*` or plain column names. */
function selectList(value: string): string {
  if (value.trim() === "*") return "*";
  const names = value.split(",").map((name) => name.trim());
  if (names.some((name) => !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name))) {
    throw new ApiError(
      400,
      "PGRST100",
      `Unsupported select parameter "${value}"`,
      null,
      "The stand-in understands * and column names only",
    );
  }
  return names.map(identifier).join(", ");
}

/** The columns of `order=`: `column`, `column.asc` or `column.desc`, comma-separated. */
function orderList(value: string): string {
  return value.split(",").map((term) => {
    const match = term.trim().match(/^([A-Za-z_][A-Za-z0-9_$]*)(?:\.(asc|desc))?$/);
    if (match === null) {
      throw new ApiError(
        400,
        "PGRST100",
        `Unsupported order parameter "${value}"`,
        null,
        "The stand-in understands column, column.asc and column.desc only",
      );
    }
    return `${identifier(match[1] as string)} ${match[2] ?? "asc"}`;
  }).join(", ");
}

function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** What a failure answers: PostgREST's own errors, SQLSTATEs by its table, lost connections as 503. */
function toApiError(error: unknown, role: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof postgres.PostgresError) {
    return new ApiError(
      sqlStateStatus(error.code, role),
      error.code,
      error.message,
      error.detail ?? null,
      error.hint ?? null,
    );
  }
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = error instanceof Error ? error.message : String(error);
  if (CONNECT_ERRORS.has(code)) {
    return new ApiError(
      503,
      "PGRST000",
      "Could not connect with the database due to an incorrect db-uri or due to the PostgreSQL service not running",
      message,
    );
  }
  if (LOST_CONNECTION_ERRORS.has(code)) {
    return new ApiError(
      503,
      "PGRST001",
      "Could not connect with the database due to an internal error",
      message,
    );
  }
  console.error("PostgREST stand-in failed:", error);
  return new ApiError(500, "PGRSTX00", "Internal error of the PostgREST stand-in");
}

/** PostgREST's HTTP status for a SQLSTATE; 42501 is 401 for anonymous requests. */
function sqlStateStatus(code: string, role: string): number {
  if (code === "42501") return role === ANON_ROLE ? 401 : 403;
  // RAISE … using errcode = 'PT404' answers that status.
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  return STATUS_BY_SQLSTATE[code] ?? STATUS_BY_SQLSTATE_CLASS[code.slice(0, 2)] ?? 400;
}

function errorResponse(error: ApiError): Response {
  const response = json(
    error.status,
    JSON.stringify({
      code: error.code,
      details: error.details,
      hint: error.hint,
      message: error.message,
    }),
  );
  if (error.status === 401) {
    response.headers.set(
      "WWW-Authenticate",
      error.code.startsWith("PGRST3")
        ? `Bearer error="invalid_token", error_description=${JSON.stringify(error.message)}`
        : "Bearer",
    );
  }
  return response;
}

function json(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8" },
  });
}
