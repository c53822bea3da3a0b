/**
 * A stand-in for a Clerk instance's session tokens, in tests: the key pair Clerk signs
 * them with, the instance's JWKS served where the Frontend API serves it
 * (`/.well-known/jwks.json`), and tokens with the claims of Clerk's session token v2
 * (`sub`, `sid`, `iss`, `azp`, `iat`, `nbf`, `exp`, `v: 2`, `o` for the active
 * organization), plus the `role: authenticated` claim Supabase's third-party auth needs
 * (configured in Clerk's dashboard). Clerk itself needs an account and the internet.
 *
 * Signed with `jose`, RS256, as Clerk signs; `rotate()` makes a new key with a new `kid`.
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/** The active organization of a v2 session token. */
export interface ActiveOrganization {
  id: string;
  /** Slug. */
  slg?: string;
  /** Role, without `org:`. */
  rol?: string;
  /** Permissions, comma-separated. */
  per?: string;
}

/** What a test may set of a token. */
export interface TokenOptions {
  /** Seconds from now until it expires (default 60, as Clerk's). */
  expiresIn?: number;
  /** Seconds from now before which it is not valid (default −5). */
  notBefore?: number;
  /** The origin that asked for it (`azp`). */
  azp?: string;
  o?: ActiveOrganization;
  /** Any other claims, replacing the defaults. */
  claims?: Record<string, unknown>;
}

/** A running stand-in. */
export interface ClerkSessions extends AsyncDisposable {
  /** The Frontend API's URL, the tokens' `iss`. */
  url: string;
  /** Where its JWKS is served. */
  jwksUrl: string;
  /** The public keys, as PostgREST's `jwt-secret` takes them. */
  jwks(): { keys: JWK[] };
  /** A session token of user `sub`. */
  token(sub: string, options?: TokenOptions): Promise<string>;
  /** Signs with a new key (a new `kid`), served from now on beside the old one. */
  rotate(): Promise<void>;
  /** How many times the JWKS was fetched. */
  fetches(): number;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `ins_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  return {
    kid,
    privateKey,
    publicJwk: { ...await exportJWK(publicKey), kid, alg: "RS256", use: "sig" },
  };
}

/** Starts the stand-in on 127.0.0.1, on a free port. */
export async function startClerkSessions(): Promise<ClerkSessions> {
  const keys = [await newKey()];
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    if (new URL(request.url).pathname !== "/.well-known/jwks.json") {
      return new Response("Not found", { status: 404 });
    }
    fetches++;
    return Response.json({ keys: keys.map((key) => key.publicJwk) });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    jwks: () => ({ keys: keys.map((key) => key.publicJwk) }),
    async token(sub, options = {}) {
      const key = keys.at(-1)!;
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        sub,
        sid: `sess_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
        iss: url,
        iat: now,
        nbf: now + (options.notBefore ?? -5),
        exp: now + (options.expiresIn ?? 60),
        v: 2,
        role: "authenticated",
        ...(options.azp === undefined ? {} : { azp: options.azp }),
        ...(options.o === undefined ? {} : { o: options.o }),
        ...options.claims,
      };
      return await new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
        .sign(key.privateKey);
    },
    async rotate() {
      keys.push(await newKey());
    },
    fetches: () => fetches,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
