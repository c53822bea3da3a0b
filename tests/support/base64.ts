/** Base64 of bytes (no JSR here for @std/encoding). */
export function encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
