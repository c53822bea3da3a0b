/**
 * HS256 JSON Web Tokens, as a Supabase project's JWT secret signs them: the API gateway's
 * tokens for the project's keys, and in tests the session tokens of users signed in
 * through Supabase Auth.
 */
import { SignJWT } from "jose";

/** Signs `claims` as an HS256 JWT with `secret`. */
export function signJwt(claims: Record<string, unknown>, secret: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}
