/** Svix signature verification of a raw webhook body, with several secrets for rotation. */
import { Webhook, WebhookVerificationError } from "svix";
import { describeKey } from "./key_kinds.ts";

export { WebhookVerificationError };

/** Where the signing secret comes from, for the messages that ask for one. */
const SECRET_SOURCE =
  "set the endpoint's Signing Secret (whsec_…) from the Clerk dashboard → Webhooks → " +
  "the endpoint";

/** Standard Webhooks secrets are at least 24 random bytes; shorter keys are guessable. */
const MIN_SECRET_BYTES = 24;
/** The ledger keys on svix-id; Svix ids are `msg_` and a 27-character KSUID. */
const MAX_ID_LENGTH = 255;
const ID_PATTERN = /^[\x21-\x7e]+$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const HEADERS = ["svix-id", "svix-timestamp", "svix-signature"] as const;
/** svix's message when no signature of a delivery matches a secret. */
const NO_MATCH = "No matching signature found";

/** A delivery whose signature matched one of the secrets. */
export interface VerifiedDelivery {
  /** The svix-id header: the same on every retry of one message. */
  id: string;
  /** The body as text, exactly as signed. */
  body: string;
}

/**
 * Splits a secret setting into its secrets (separated by spaces or commas) and checks
 * each one: svix must accept it, and it must decode to at least 24 bytes.
 * Throws a `TypeError` naming the position of the first bad secret.
 */
export function parseWebhookSecrets(value: string): string[] {
  const secrets = value.split(/[\s,]+/).filter((secret) => secret !== "");
  if (secrets.length === 0) throw new TypeError("No secret given");
  secrets.forEach((secret, index) => {
    const position = secrets.length === 1 ? "The secret" : `Secret ${index + 1}`;
    const other = secret.startsWith("whsec_") ? undefined : describeKey(secret);
    if (other !== undefined) {
      throw new TypeError(
        `${position} is ${other}, not a webhook signing secret: ${SECRET_SOURCE}`,
      );
    }
    try {
      new Webhook(secret);
    } catch (error) {
      throw new TypeError(
        `${position} is not a Svix secret (${(error as Error).message}): ${SECRET_SOURCE}`,
      );
    }
    if (decodedLength(secret) < MIN_SECRET_BYTES) {
      throw new TypeError(`${position} decodes to fewer than ${MIN_SECRET_BYTES} bytes`);
    }
  });
  return secrets;
}

function decodedLength(secret: string): number {
  const key = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  try {
    return atob(key).length;
  } catch {
    return 0;
  }
}

/**
 * The `svix-id` header when it is a usable id (printable ASCII, at most 255 characters),
 * else null. The id is only Clerk's once the signature verified.
 */
export function readSvixId(headers: Headers): string | null {
  const id = headers.get("svix-id");
  return id !== null && id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id) ? id : null;
}

/** Verifies webhook deliveries against one or more signing secrets. */
export class WebhookVerifier {
  #webhooks: Webhook[];
  #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  /** `secrets` as returned by {@linkcode parseWebhookSecrets}. */
  constructor(secrets: readonly string[]) {
    this.#webhooks = secrets.map((secret) => new Webhook(secret));
  }

  /**
   * Checks the svix headers and the signature of `body`, and returns the delivery.
   * Only `svix-*` headers count (Clerk sends those). Throws
   * `WebhookVerificationError` for every reason to reject.
   */
  verify(body: Uint8Array, headers: Headers): VerifiedDelivery {
    const values: Record<string, string> = {};
    for (const name of HEADERS) {
      const value = headers.get(name);
      if (value === null || value === "") {
        throw new WebhookVerificationError(`Missing "${name}" header`);
      }
      values[name] = value;
    }
    const id = readSvixId(headers);
    if (id === null) throw new WebhookVerificationError(`Invalid "svix-id" header`);
    // svix reads the timestamp with parseInt, which would accept "12.5" or "12abc".
    if (!TIMESTAMP_PATTERN.test(values["svix-timestamp"]!)) {
      throw new WebhookVerificationError(`Invalid "svix-timestamp" header: not whole seconds`);
    }

    let text: string;
    try {
      text = this.#decoder.decode(body);
    } catch {
      throw new WebhookVerificationError("Body is not valid UTF-8");
    }

    let failure: unknown;
    for (const webhook of this.#webhooks) {
      try {
        webhook.verify(text, values);
        return { id, body: text };
      } catch (error) {
        failure = error;
      }
    }
    if (!(failure instanceof WebhookVerificationError)) {
      throw new WebhookVerificationError("Cannot verify the signature");
    }
    // A signature that matches no secret is a forgery or, far more often, a secret that
    // is not this endpoint's: say which setting to check.
    throw failure.message === NO_MATCH
      ? new WebhookVerificationError(
        `${NO_MATCH}: check that CLERK_WEBHOOK_SECRET is this endpoint's Signing Secret ` +
          "(Clerk dashboard → Webhooks → the endpoint)",
      )
      : failure;
  }
}
