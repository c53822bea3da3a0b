/**
 * HS256 JSON Web Tokens, as a Supabase project's JWT secret signs them: the API gateway's
 * tokens for the project's keys, and in tests the session tokens of users signed in
 * through Supabase Auth or Clerk (third-party auth).
 */

const encoder = new TextEncoder();

/** Signs `claims` as an HS256 JWT with `secret`. */
export async function signJwt(claims: Record<string, unknown>, secret: string): Promise<string> {
  const content = `${base64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64Url(JSON.stringify(claims))
  }`;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(content));
  return `${content}.${base64Url(new Uint8Array(signature))}`;
}

function base64Url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}
