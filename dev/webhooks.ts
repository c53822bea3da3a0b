/**
 * Signing deliveries the way Svix does for Clerk, with svix's own `Webhook.sign`.
 * Used by `npm run send` and by the tests.
 */
import { Webhook } from "svix";

/** Standard base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A fresh `whsec_` secret of 24 random bytes, as Clerk issues them. */
export function newSecret(): string {
  return `whsec_${encodeBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** A fresh Svix message id. */
export function newSvixId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** What a delivery is made of; everything but the body has a sensible default. */
export interface DeliveryOptions {
  secret: string;
  /** svix-id (default: a fresh one). */
  id?: string;
  /** svix-timestamp in seconds (default: now). */
  timestamp?: number;
}

/** The three svix headers of `body`, signed with `options.secret`. */
export function svixHeaders(body: string, options: DeliveryOptions): Record<string, string> {
  const id = options.id ?? newSvixId();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    "svix-id": id,
    "svix-timestamp": String(timestamp),
    "svix-signature": new Webhook(options.secret).sign(id, new Date(timestamp * 1000), body),
  };
}

/** POSTs `payload` (serialized once, then signed as sent) to `url`. */
export async function deliver(
  url: string,
  payload: unknown,
  options: DeliveryOptions,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...svixHeaders(body, options) },
    body,
  });
  return { status: response.status, body: await response.json() };
}
