/** The function's configuration, read once from the environment, failing loudly. */
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
