/** Reading a request body with a size limit, before any hashing or parsing. */

/** Clerk's user payloads are a few KiB; anything near this limit is not Clerk's. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request body is larger than the limit. */
export class PayloadTooLargeError extends Error {
  constructor(limit: number) {
    super(`Request body exceeds ${limit} bytes`);
    this.name = "PayloadTooLargeError";
  }
}

/**
 * Reads the raw bytes of `request`, refusing more than `limit` bytes whether or not
 * the client declared a Content-Length: a declared one over the limit is refused
 * unread, a body without one is counted while streaming and the rest cancelled unread.
 */
export async function readBody(
  request: Request,
  limit: number = MAX_BODY_BYTES,
): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  if (Number(length ?? 0) > limit) throw new PayloadTooLargeError(limit);
  if (request.body === null) return new Uint8Array(0);
  // A declared length bounds the body (HTTP/1.1 frames it by that length): read it in
  // one native call, the common case and much cheaper than streaming it through JS.
  if (length !== null) return new Uint8Array(await request.arrayBuffer());

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
