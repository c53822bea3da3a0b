/**
 * Verifying a Clerk session token, as Clerk's SDKs do, with `jose`: RS256 against the
 * instance's JWKS (fetched once, cached, fetched again on an unknown `kid` at most every
 * 30 s), `exp` and `nbf` with 5 s of clock skew, and `azp` among the authorized parties when
 * they are set. The token is the one `getToken()` returns in the app, sent as
 * `Authorization: Bearer …` (supabase-js sends it so with `accessToken`).
 */
import { createRemoteJWKSet, errors, jwtVerify } from "jose";

/** Seconds of clock skew allowed on `exp` and `nbf`, as Clerk's SDKs allow. */
const CLOCK_SKEW_SECONDS = 5;

/** A request without a valid Clerk session token: 401. */
export class SessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionError";
  }
}

/** Where a verifier gets the instance's keys, and which origins may present tokens. */
export interface SessionOptions {
  /** The instance's JWKS: `CLERK_JWKS_URL`, or the Frontend API's `/.well-known/jwks.json`. */
  jwksUrl: URL;
  /** Origins a token's `azp` must be one of (`CLERK_AUTHORIZED_PARTIES`); empty: any. */
  authorizedParties: readonly string[];
}

/** Verifies Clerk session tokens of one instance. */
export class SessionVerifier {
  #keys: ReturnType<typeof createRemoteJWKSet>;
  #parties: readonly string[];

  constructor(options: SessionOptions) {
    this.#keys = createRemoteJWKSet(options.jwksUrl, {
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5_000,
    });
    this.#parties = options.authorizedParties;
  }

  /**
   * The Clerk user id (`sub`) of the session whose token the `Authorization` header bears.
   * Throws {@linkcode SessionError} saying what is wrong; a JWKS that cannot be fetched
   * throws jose's `JWKSTimeout` or a network error (the caller's 503).
   */
  async userOf(authorization: string | null): Promise<string> {
    const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (token === undefined) {
      throw new SessionError("Missing Authorization: Bearer <Clerk session token>");
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        algorithms: ["RS256"],
        clockTolerance: CLOCK_SKEW_SECONDS,
      }));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) throw error;
      throw new SessionError(`Not a valid Clerk session token: ${describe(error)}`);
    }
    if (typeof payload.sub !== "string" || payload.sub === "") {
      throw new SessionError("Not a valid Clerk session token: it names no user (sub)");
    }
    // A browser's token names the origin that asked for it; one from elsewhere may not.
    if (this.#parties.length > 0 && !this.#parties.includes(String(payload.azp ?? ""))) {
      throw new SessionError(
        `The session token's origin (azp ${JSON.stringify(payload.azp ?? null)}) is not one of ` +
          "CLERK_AUTHORIZED_PARTIES",
      );
    }
    return payload.sub;
  }
}

/** What is wrong with a token, in words: expired, not yet valid, signed by another key, … */
function describe(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return "it has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim}: ${error.message}`;
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of this Clerk instance signed it";
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "its signature does not verify with this Clerk instance's key";
  }
  return error.message;
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
