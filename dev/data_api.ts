/**
 * A Supabase project's Data API for one database, as supabase-js reaches it: the real
 * PostgREST (dev/postgrest.ts) behind the API gateway stand-in
 * (dev/stand_ins/api_gateway.ts), which turns the project's keys into JWTs, and, when
 * asked, routes `/functions/v1/<name>/…` to function processes. With a third-party auth
 * provider's keys, PostgREST verifies its session tokens too, as on Supabase.
 */
import { startApiGatewayStandIn } from "./stand_ins/api_gateway.ts";
import { type Jwks, type Postgrest, projectJwks, startPostgrest } from "./postgrest.ts";

export { POSTGREST_MISSING } from "./postgrest.ts";

/** Options of {@linkcode startDataApi}. */
export interface DataApiOptions {
  /** A postgres URL of the database to serve. */
  databaseUrl: string;
  /** The project's secret key (`sb_secret_…`), which acts as `service_role`. */
  secretKey: string;
  /** The project's publishable key (`sb_publishable_…`), which acts as `anon`. */
  publishableKey?: string;
  /** The project's JWT secret (at least 32 characters); a random one by default. */
  jwtSecret?: string;
  /** Connections in PostgREST's pool. */
  pool?: number;
  /**
   * Third-party auth: the provider's public keys (a Clerk instance's JWKS), which
   * PostgREST accepts beside the project's JWT secret ({@linkcode projectJwks}).
   */
  thirdPartyJwks?: Jwks;
  /** Edge Functions the gateway routes to: a function's name → the URL of a process serving it. */
  functions?: Record<string, string>;
}

/** A running Data API; `url` is what supabase-js takes as `SUPABASE_URL`. */
export interface DataApi extends AsyncDisposable {
  url: string;
  postgrest: Postgrest;
  close(): Promise<void>;
}

/** Starts PostgREST for `options.databaseUrl`, then the gateway in front of it. */
export async function startDataApi(options: DataApiOptions): Promise<DataApi> {
  const jwtSecret = options.jwtSecret ?? `${crypto.randomUUID()}${crypto.randomUUID()}`;
  const postgrest = await startPostgrest({
    databaseUrl: options.databaseUrl,
    jwtSecret: options.thirdPartyJwks === undefined
      ? jwtSecret
      : projectJwks(jwtSecret, options.thirdPartyJwks),
    ...(options.pool === undefined ? {} : { pool: options.pool }),
  });
  const gateway = startApiGatewayStandIn({
    postgrestUrl: postgrest.url,
    jwtSecret,
    secretKey: options.secretKey,
    ...(options.publishableKey === undefined ? {} : { publishableKey: options.publishableKey }),
    ...(options.functions === undefined ? {} : { functions: options.functions }),
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await gateway.close();
      await postgrest.close();
    })();
  return { url: gateway.url, postgrest, close, [Symbol.asyncDispose]: close };
}
