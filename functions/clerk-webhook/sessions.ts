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

/** jose's errors that say the token is not good, as opposed to the keys not being there. */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

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
   * throws jose's or the network's error (the caller's 503).
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
      // What is wrong with the token is the caller's 401; a JWKS that cannot be fetched
      // (no answer, not 200, not a key set) is not, and is thrown as it is.
      if (!TOKEN_ERRORS.some((kind) => error instanceof kind)) throw error;
      throw new SessionError(`Not a valid Clerk session token: ${describe(error as Error)}`);
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
function describe(error: Error): string {
  if (error instanceof errors.JWTExpired) return "it has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim}: ${error.message}`;
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of this Clerk instance signed it";
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "its signature does not verify with this Clerk instance's key";
  }
  return error.message;
}
