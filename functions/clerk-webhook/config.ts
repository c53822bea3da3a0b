/** The function's configuration, read once from the environment, failing loudly. */
import { type ClerkApiConfig, readClerkApiConfig } from "./clerk_api.ts";
import { parseWebhookSecrets } from "./verify.ts";

/** A setting is missing or malformed; `variable` names it. */
export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

/** Where the writes go. */
export type DatabaseConfig =
  | { transport: "postgres"; url: string }
  | { transport: "supabase"; url: string; key: string };

/** Everything the function needs from its environment. */
export interface Config {
  /** Signing secrets; a delivery signed with any of them is accepted. */
  secrets: string[];
  database: DatabaseConfig;
  /** The port to listen on locally; unset on the platform, which picks its own. */
  port: number | undefined;
}

/** Reads an environment variable. */
export type Env = (name: string) => string | undefined;

/** The value of `name` in `env`, trimmed; blank counts as unset. */
function setting(env: Env, name: string): string | undefined {
  return env(name)?.trim() || undefined;
}

/** The variables that hold signing secrets: the seed's name, then Clerk's current one. */
export const SECRET_VARIABLES = ["CLERK_WEBHOOK_SECRET", "CLERK_WEBHOOK_SIGNING_SECRET"] as const;

/**
 * Reads the configuration from `env`. Secrets come from `CLERK_WEBHOOK_SECRET` and/or
 * `CLERK_WEBHOOK_SIGNING_SECRET` (several per variable for a rotation). `DATABASE_URL`
 * selects the direct transport; otherwise `SUPABASE_URL` with the `default` key of
 * `SUPABASE_SECRET_KEYS` or else `SUPABASE_SERVICE_ROLE_KEY`.
 */
export function readConfig(env: Env): Config {
  const secrets: string[] = [];
  for (const variable of SECRET_VARIABLES) {
    const value = setting(env, variable);
    if (value === undefined) continue;
    try {
      secrets.push(...parseWebhookSecrets(value));
    } catch (error) {
      throw new ConfigError(variable, (error as Error).message);
    }
  }
  if (secrets.length === 0) {
    throw new ConfigError(
      SECRET_VARIABLES[0]!,
      "missing: set the signing secret of the Clerk endpoint (whsec_…)",
    );
  }

  return { secrets, database: readDatabaseConfig(env), port: readPort(env) };
}

/**
 * Reads where the writes go, from `env`: `DATABASE_URL` selects the direct transport;
 * otherwise `SUPABASE_URL` with the `default` key of `SUPABASE_SECRET_KEYS` or else
 * `SUPABASE_SERVICE_ROLE_KEY`. The webhook and the backfill CLI share it.
 */
export function readDatabaseConfig(env: Env): DatabaseConfig {
  const read = (name: string) => setting(env, name);
  const databaseUrl = read("DATABASE_URL");
  if (databaseUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl) || !URL.canParse(databaseUrl)) {
      throw new ConfigError("DATABASE_URL", "not a postgres:// or postgresql:// URL");
    }
    return { transport: "postgres", url: databaseUrl };
  }

  const url = read("SUPABASE_URL");
  if (url === undefined) {
    throw new ConfigError(
      "SUPABASE_URL",
      "missing: set SUPABASE_URL and a secret key, or DATABASE_URL",
    );
  }
  if (!/^https?:\/\//.test(url) || !URL.canParse(url)) {
    throw new ConfigError("SUPABASE_URL", "not an http(s) URL");
  }
  return { transport: "supabase", url, key: readKey(read) };
}

function readKey(read: (name: string) => string | undefined): string {
  const keys = read("SUPABASE_SECRET_KEYS");
  if (keys !== undefined) {
    let key: unknown;
    try {
      key = (JSON.parse(keys) as Record<string, unknown> | null)?.default;
    } catch {
      throw new ConfigError("SUPABASE_SECRET_KEYS", 'not JSON like {"default":"sb_secret_…"}');
    }
    if (typeof key !== "string" || key === "") {
      throw new ConfigError("SUPABASE_SECRET_KEYS", 'has no "default" key');
    }
    return key;
  }
  const legacy = read("SUPABASE_SERVICE_ROLE_KEY");
  if (legacy === undefined) {
    throw new ConfigError(
      "SUPABASE_SECRET_KEYS",
      "missing: set SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY with SUPABASE_URL",
    );
  }
  return legacy;
}

/** Reads `PORT`: the port to listen on locally, if set. */
export function readPort(env: Env): number | undefined {
  const value = setting(env, "PORT");
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) {
    throw new ConfigError("PORT", "not a port number (0 to 65535)");
  }
  return port;
}

/** What `POST /sync` needs: Clerk's keys and the origins that may call it. */
export interface SyncConfig {
  /** The instance's JWKS, which signs its session tokens. */
  jwksUrl: URL;
  /** Origins a session token's `azp` must be one of, and browsers may call from (CORS). */
  authorizedParties: string[];
  /** The Backend API, to fetch a user the sync does not have yet. */
  clerk: ClerkApiConfig;
}

/**
 * Reads the settings of `POST /sync` from `env`: `CLERK_SECRET_KEY` (and `CLERK_API_URL`),
 * the JWKS from `CLERK_JWKS_URL` or else from `CLERK_PUBLISHABLE_KEY`, and the optional
 * comma-separated `CLERK_AUTHORIZED_PARTIES` (origins such as https://app.example.com).
 * Throws a {@linkcode ConfigError} naming the first bad or missing one; the webhook does
 * not need them.
 */
export function readSyncConfig(env: Env): SyncConfig {
  const read = (name: string) => setting(env, name);
  const clerk = readClerkApiConfig(env);
  let jwksUrl: URL;
  const jwks = read("CLERK_JWKS_URL");
  if (jwks !== undefined) {
    if (!/^https?:\/\//.test(jwks) || !URL.canParse(jwks)) {
      throw new ConfigError("CLERK_JWKS_URL", "not an http(s) URL");
    }
    jwksUrl = new URL(jwks);
  } else {
    const publishable = read("CLERK_PUBLISHABLE_KEY");
    if (publishable === undefined) {
      throw new ConfigError(
        "CLERK_PUBLISHABLE_KEY",
        "missing: POST /sync verifies Clerk session tokens with the instance's keys: set " +
          "CLERK_PUBLISHABLE_KEY (pk_…, Clerk dashboard → API keys) or CLERK_JWKS_URL",
      );
    }
    try {
      jwksUrl = jwksUrlOfPublishableKey(publishable);
    } catch (error) {
      throw new ConfigError("CLERK_PUBLISHABLE_KEY", (error as Error).message);
    }
  }
  const parties = (read("CLERK_AUTHORIZED_PARTIES") ?? "").split(",").map((party) => party.trim())
    .filter((party) => party !== "");
  for (const party of parties) {
    if (!URL.canParse(party) || new URL(party).origin !== party) {
      throw new ConfigError(
        "CLERK_AUTHORIZED_PARTIES",
        `"${party}" is not an origin (scheme, host and port, such as https://app.example.com)`,
      );
    }
  }
  return { jwksUrl, authorizedParties: parties, clerk };
}

/**
 * The JWKS URL of the instance of Clerk publishable key `key` (`pk_test_…`, `pk_live_…`:
 * the Frontend API's host, base64, ending in `$`). Throws a `TypeError` for anything else.
 */
export function jwksUrlOfPublishableKey(key: string): URL {
  const encoded = key.match(/^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/)?.[1];
  let host: string | undefined;
  try {
    host = encoded === undefined
      ? undefined
      : atob(encoded.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    host = undefined;
  }
  if (host === undefined || !/^[a-z0-9.-]+(:\d+)?\$$/i.test(host)) {
    throw new TypeError(
      "not a Clerk publishable key (pk_test_… or pk_live_…, from the Clerk dashboard → API keys)",
    );
  }
  return new URL(`https://${host.slice(0, -1)}/.well-known/jwks.json`);
}
