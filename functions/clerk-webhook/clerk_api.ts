/**
 * Clerk's Backend API as the backfill reads it: each entity's listing and objects, where
 * its module says (entity.ts, `ClerkSource`), with Clerk's rate limits honoured, passing
 * failures retried, and every refusal reported as Clerk worded it.
 *
 * Plain `fetch` rather than the official `@clerk/backend` client: that client runs in
 * Deno and takes `apiUrl`, but (3.25.0) it retries nothing (a 429 or 5xx is thrown with
 * `retryAfter` parsed, the waiting left to the caller), it flattens network failures
 * into an error without a status, `getUserList()` spends a second request of the rate
 * limit on `/users/count` for every page, and it returns class instances whose raw JSON
 * (`.raw`) is what the sync validates, with the webhook's own parser. A few GET endpoints
 * with Clerk's documented shapes are less code than wrapping all that.
 */
import { ConfigError, type Env } from "./config.ts";
import type { ClerkFeature, ClerkSource } from "./entity.ts";
import { describeKey } from "./key_kinds.ts";

/** Clerk's Backend API; `CLERK_API_URL` overrides it. */
export const DEFAULT_CLERK_API_URL = "https://api.clerk.com";
/** The most users Clerk returns per page of `GET /v1/users`. */
export const MAX_PAGE_SIZE = 500;

/** Where the Clerk API is and the key to it. */
export interface ClerkApiConfig {
  /** The instance's secret key (`sk_live_…` or `sk_test_…`). */
  secretKey: string;
  /** The API's base URL, without a trailing slash. */
  apiUrl: string;
}

/**
 * What a Clerk secret key looks like: `sk_live_` (a production instance) or `sk_test_`
 * (a development instance), then the key. Clerk issues secret keys only in this form (its
 * SDKs dropped the older `test_…` API keys with Core 2); the rest of the key is Clerk's to
 * judge.
 */
const SECRET_KEY = /^sk_(live|test)_\S+$/;

/** Where a secret key comes from, for the messages that ask for one. */
const SECRET_KEY_SOURCE =
  "set the instance's Secret key (sk_live_… or sk_test_…) from the Clerk dashboard → " +
  "API keys → Secret keys";

/**
 * Reads `CLERK_SECRET_KEY` (required, `sk_live_…` or `sk_test_…`) and `CLERK_API_URL`
 * (optional) from `env`. Throws a `ConfigError` saying which key goes where for anything
 * else (a publishable key, a webhook signing secret), before any request is made.
 */
export function readClerkApiConfig(env: Env): ClerkApiConfig {
  const secretKey = env("CLERK_SECRET_KEY")?.trim();
  if (!secretKey) {
    throw new ConfigError("CLERK_SECRET_KEY", `missing: ${SECRET_KEY_SOURCE}`);
  }
  if (!SECRET_KEY.test(secretKey)) {
    const other = describeKey(secretKey);
    throw new ConfigError(
      "CLERK_SECRET_KEY",
      other === undefined
        ? `not a Clerk secret key, which starts sk_live_ or sk_test_: ${SECRET_KEY_SOURCE}`
        : `this is ${other}, not the secret key: ${SECRET_KEY_SOURCE}`,
    );
  }
  const apiUrl = env("CLERK_API_URL")?.trim() || DEFAULT_CLERK_API_URL;
  if (!/^https?:\/\//.test(apiUrl) || !URL.canParse(apiUrl)) {
    throw new ConfigError("CLERK_API_URL", "not an http(s) URL");
  }
  return { secretKey, apiUrl: apiUrl.replace(/\/+$/, "") };
}

/**
 * The codes of a 403 that refuses the key rather than the request, from Clerk's index of
 * authentication errors (clerk.com/docs/errors/authentication, which spells them with a
 * `_code` suffix that the API's answers do not carry). Every 401 refuses the key too; any
 * other 403 (such as `organization_not_enabled_in_instance`) is about the instance.
 */
const KEY_REFUSED_CODES = new Set([
  "clerk_key_invalid",
  "authentication_invalid",
  "authorization_header_format_invalid",
  "authorization_invalid",
]);

/** Clerk refused a request, or kept failing until the retries ran out. */
export class ClerkApiError extends Error {
  /** The last HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Clerk's (first) error code, such as `clerk_key_invalid`, if it gave one. */
  readonly code: string | null;
  /** How long Clerk asked to wait before trying again (`Retry-After` of a 429), in ms. */
  readonly retryAfterMs: number | null;

  constructor(
    message: string,
    status: number | null,
    code: string | null = null,
    retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "ClerkApiError";
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A retry about to happen, for progress output. */
export interface RetryNotice {
  /** The request, such as `GET /v1/users?limit=500&offset=0&order_by=%2Bcreated_at`. */
  request: string;
  /** What went wrong: `429`, `503`, or the network error. */
  reason: string;
  /** How long until the retry, in milliseconds. */
  delayMs: number;
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  /** The attempts allowed in all. */
  attempts: number;
}

/** A page of a listing. */
export interface Page {
  limit: number;
  offset: number;
}

/** Options of {@linkcode ClerkApi}. */
export interface ClerkApiOptions extends ClerkApiConfig {
  /** Retries of one request after a 429, a 5xx or no answer (default 5). */
  retries?: number;
  /** The first backoff after a 5xx or no answer, doubled each time (default 500 ms). */
  backoffMs?: number;
  /** Time allowed for one answer (default 30 s). */
  timeoutMs?: number;
  /** Called before each retry. */
  onRetry?: (notice: RetryNotice) => void;
}

/** `template` with each `{name}` replaced by its value, URL-encoded. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(
    /\{(\w+)\}/g,
    (_, name: string) => encodeURIComponent(values[name] ?? ""),
  );
}

/** A `Retry-After` longer than this is not waited for: the run gives up instead. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** A Clerk Backend API client for listing and getting its objects, as raw JSON. */
export class ClerkApi {
  #config: ClerkApiConfig;
  #retries: number;
  #backoffMs: number;
  #timeoutMs: number;
  #onRetry: (notice: RetryNotice) => void;

  constructor(options: ClerkApiOptions) {
    this.#config = { secretKey: options.secretKey, apiUrl: options.apiUrl };
    this.#retries = options.retries ?? 5;
    this.#backoffMs = options.backoffMs ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#onRetry = options.onRetry ?? (() => {});
  }

  /**
   * One page of the listing of `source`, oldest first (`order_by=+created_at`): objects
   * created while paging land on later pages instead of shifting the ones not yet read.
   */
  list(source: ClerkSource, page: Page): Promise<unknown[]> {
    return this.#list(source.list, page, source.wrapped, source.query);
  }

  /**
   * Every object of a `source` listed per parent (`source.parents`): each parent's
   * listing, page after page, parent after parent, oldest parents first.
   */
  async listEach(source: ClerkSource): Promise<unknown[]> {
    const all: unknown[] = [];
    const pages = async (path: string, wrapped: boolean, take: (page: unknown[]) => void) => {
      for (let offset = 0;; offset += MAX_PAGE_SIZE) {
        const page = await this.#list(path, { limit: MAX_PAGE_SIZE, offset }, wrapped);
        take(page);
        if (page.length < MAX_PAGE_SIZE) return;
      }
    };
    const parents: string[] = [];
    await pages(source.parents ?? "", true, (page) => {
      for (const parent of page) {
        const id = (parent as { id?: unknown } | null)?.id;
        if (typeof id === "string") parents.push(id);
      }
    });
    for (const parent of new Set(parents)) {
      await pages(fill(source.list, { parent }), source.wrapped, (page) => all.push(...page));
    }
    return all;
  }

  /**
   * One page of the listing at `path` (`{ data, total_count }` when `wrapped`), oldest
   * first: for listings no entity's source names (a user's memberships).
   */
  listAt(path: string, page: Page, wrapped: boolean): Promise<unknown[]> {
    return this.#list(path, page, wrapped);
  }

  /**
   * Whether the instance has `feature` on: false when Clerk answers its probe with 403
   * and the feature's code, as it does for every endpoint of a feature that is off
   * (organizations, by default). Any other failure throws: a refusal never reads as
   * "none".
   */
  async enabled(feature: ClerkFeature): Promise<boolean> {
    try {
      await this.#list(feature.probe, { limit: 1, offset: 0 }, true);
      return true;
    } catch (error) {
      if (
        error instanceof ClerkApiError && error.status === 403 &&
        (feature.offCode === undefined || error.code === feature.offCode)
      ) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Object `id` of `source` as Clerk has it now, or null when Clerk answers 404
   * `resource_not_found` (any other 404, from a proxy or a wrong `CLERK_API_URL`, is an
   * error, never taken as "deleted"). An object Clerk has no endpoint for (a membership)
   * is looked for in its parent's listing, named by `row[parentColumn]`: null when the
   * parent is gone or no longer lists it.
   */
  async find(
    source: ClerkSource,
    id: string,
    row: Readonly<Record<string, string | undefined>> = {},
  ): Promise<unknown | null> {
    const { one } = source;
    if (one === undefined) throw new TypeError(`Clerk has no endpoint for one of ${source.list}`);
    if ("path" in one) return await this.#find(fill(one.path, { id }));
    const parent = row[one.parentColumn] ?? "";
    if (await this.#find(fill(one.parentPath, { parent })) === null) return null;
    const path = fill(one.listPath, { parent });
    for (let offset = 0;; offset += MAX_PAGE_SIZE) {
      const page = await this.#list(path, { limit: MAX_PAGE_SIZE, offset }, true);
      const found = page.find((object) => (object as { id?: unknown })?.id === id);
      if (found !== undefined) return found;
      if (page.length < MAX_PAGE_SIZE) return null;
    }
  }

  async #list(
    resource: string,
    page: Page,
    wrapped: boolean,
    extra: Record<string, string> = {},
  ): Promise<unknown[]> {
    const query = new URLSearchParams({
      limit: String(page.limit),
      offset: String(page.offset),
      order_by: "+created_at",
      ...extra,
    });
    const path = `${resource}?${query}`;
    const response = await this.#get(path);
    if (!response.ok) throw await refusal(path, response, this.#config.secretKey);
    const json = await readJson(path, response);
    const list = wrapped ? (json as { data?: unknown } | null)?.data : json;
    if (!Array.isArray(list)) {
      throw new ClerkApiError(
        `Clerk API answered GET ${path} with JSON that is not a list`,
        response.status,
      );
    }
    return list;
  }

  async #find(path: string): Promise<unknown | null> {
    const response = await this.#get(path);
    if (response.ok) return await readJson(path, response);
    const error = await refusal(path, response, this.#config.secretKey);
    if (response.status === 404 && error.code === "resource_not_found") return null;
    throw error;
  }

  async #get(path: string): Promise<Response> {
    const attempts = this.#retries + 1;
    for (let attempt = 1;; attempt++) {
      let response: Response | undefined;
      let reason: string;
      try {
        response = await fetch(`${this.#config.apiUrl}${path}`, {
          headers: {
            Authorization: `Bearer ${this.#config.secretKey}`,
            Accept: "application/json",
          },
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        if (response.status !== 429 && response.status < 500) return response;
        reason = String(response.status);
      } catch (error) {
        reason = `no answer: ${(error as Error).message}`;
      }
      const backoff = this.#backoffMs * 2 ** (attempt - 1);
      const delayMs = response?.status === 429 ? retryAfterMs(response) ?? backoff : backoff;
      if (attempt === attempts || delayMs > MAX_RETRY_AFTER_MS) {
        if (response === undefined) {
          throw new ClerkApiError(
            `Cannot reach the Clerk API at ${this.#config.apiUrl} (GET ${path}, ${attempt} attempts): ${reason}`,
            null,
          );
        }
        throw await refusal(
          path,
          response,
          this.#config.secretKey,
          attempt === attempts
            ? `gave up after ${attempt} attempts`
            : `Retry-After of ${Math.ceil(delayMs / 1000)} s is too long to wait`,
        );
      }
      await response?.body?.cancel();
      this.#onRetry({ request: `GET ${path}`, reason, delayMs, attempt: attempt + 1, attempts });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** One entry of the `errors` of Clerk's error answer, as sent. */
interface ClerkErrorEntry {
  code?: unknown;
  message?: unknown;
  long_message?: unknown;
}

/**
 * The error for an answer that is not a success, with each error Clerk sent in its
 * `errors` (its long message, or message, and its code). Only a refusal of the key says
 * to check CLERK_SECRET_KEY, with the kind of instance `secretKey` is for.
 */
async function refusal(
  path: string,
  response: Response,
  secretKey: string,
  note?: string,
): Promise<ClerkApiError> {
  const text = await response.text().catch(() => "");
  let errors: ClerkErrorEntry[] = [];
  try {
    const sent = JSON.parse(text)?.errors;
    if (Array.isArray(sent)) errors = sent.filter((entry) => typeof entry === "object" && entry);
  } catch {
    // Not Clerk's JSON (a proxy's page): the status alone describes it.
  }
  const codes = errors.flatMap(({ code }) => typeof code === "string" ? [code] : []);
  const said = errors.map(({ code, message, long_message }) => {
    const words = [long_message, message].find((value) => typeof value === "string");
    return [words, typeof code === "string" ? `(${code})` : undefined].filter(Boolean).join(" ");
  }).filter((entry) => entry !== "");
  let message = `Clerk API answered ${response.status} to GET ${path}`;
  if (said.length > 0) message += `: ${said.join("; ")}`;
  if (note !== undefined) message += `; ${note}`;
  if (
    response.status === 401 ||
    (response.status === 403 && codes.some((code) => KEY_REFUSED_CODES.has(code)))
  ) {
    message += "; check CLERK_SECRET_KEY: it must be the Secret key of the Clerk instance " +
      "this database syncs (Clerk dashboard → API keys → Secret keys)";
    const instance = secretKey.startsWith("sk_live_")
      ? "production"
      : secretKey.startsWith("sk_test_")
      ? "development"
      : undefined;
    if (instance !== undefined) message += `, and this one is a ${instance} instance's key`;
  }
  return new ClerkApiError(message, response.status, codes[0] ?? null, retryAfterMs(response));
}

async function readJson(path: string, response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    throw new ClerkApiError(
      `Clerk API answered GET ${path} with a body that is not JSON: ${(error as Error).message}`,
      response.status,
    );
  }
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; null if absent or unreadable. */
function retryAfterMs(response: Response): number | null {
  const value = response.headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^[0-9]+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
