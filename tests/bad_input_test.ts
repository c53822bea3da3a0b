/**
 * Bad input, table-driven: every malformed, forged, stale or oversized delivery gets a
 * clear 4xx, writes no row and no ledger entry, and leaves one log line without the
 * payload; the near-misses that Svix's own verification accepts are accepted (200) and
 * applied once. No input gets a 5xx. Each case goes over real HTTP to createHandler()
 * on the direct transport, into a scratch copy of the migrated database, with the
 * body's exact bytes: fetch with a Uint8Array or a stream, or a raw TCP request where
 * fetch would normalize what the case is about (the letter case of header names, a
 * Content-Length without the body).
 *
 * What svix 2.5 does with inputs that look wrong but are not, as asserted below:
 * - Header names are case-insensitive in HTTP: `SVIX-ID` is the header `svix-id`.
 * - `svix-signature` is split on single spaces, each entry on commas, and only the first
 *   two fields of an entry count. So a double space separates signatures (the empty
 *   entry between them is skipped); a tab does not (`v1,<a>\tv1,<b>` is one entry whose
 *   signature is `<a>\tv1`, which matches nothing: 400); a comma does not either, but in
 *   `v1,<valid>,v1,<other>` the valid signature is the one read (200), while in
 *   `v1,<other>,v1,<valid>` it is never looked at (400). A header sent twice reaches the
 *   handler joined with ", ", which splits into both signatures (200).
 */
import { directStore } from "./support/transports.ts";
import assert from "node:assert/strict";
import { MAX_BODY_BYTES } from "../functions/clerk-webhook/body.ts";
import { createHandler, type LogEntry } from "../functions/clerk-webhook/handler.ts";
import { WebhookVerifier } from "../functions/clerk-webhook/verify.ts";
import {
  deletedEvent,
  domainEvent,
  invitationEvent,
  membershipEvent,
  newClerkId,
  objectDeletedEvent,
  organizationDeletedEvent,
  organizationEvent,
  paymentAttemptEvent,
  permissionEvent,
  roleEvent,
  subscriptionEvent,
  subscriptionItemEvent,
  userEvent,
  waitlistEntryEvent,
} from "../dev/clerk_events.ts";
import { scratchDatabase } from "../dev/database.ts";
import { serveLocally } from "./support/server.ts";
import { encodeBase64, newSecret, newSvixId, svixHeaders } from "../dev/webhooks.ts";

// Module-wide fixtures: the runner drops the database; the process ends with the server.
const db = await scratchDatabase();
/** The endpoint is rotating its secret: deliveries signed with either are genuine. */
const current = newSecret();
const previous = newSecret();
const logs: LogEntry[] = [];
const server = serveLocally(
  createHandler({
    verifier: new WebhookVerifier([current, previous]),
    store: directStore(db.url),
    log: (entry) => logs.push(entry),
  }),
);

const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;
const tag = crypto.randomUUID().slice(0, 8);
/** Personal data every payload carries; none of it may reach a log line or an answer. */
const FIRST_NAME = `Ottoline${tag}`;
const LAST_NAME = `Quarrington${tag}`;
const MULTI_BYTE_NAME = `Zoë Ñúñez 李小龍 🦊 ${tag}`;

/** A Clerk `user.created` of a fresh user carrying the personal data above. */
function created(data: Record<string, unknown> = {}): Record<string, unknown> {
  const id = newClerkId();
  const event = userEvent("user.created", {
    id,
    email: `${id.slice(5, 15)}.${tag}@example.com`,
    firstName: FIRST_NAME,
    lastName: LAST_NAME,
    updatedAt: Date.now() - 1000,
  });
  return { ...event, data: { ...event.data as Record<string, unknown>, ...data } };
}

/** An `organization.created` of a fresh organization, with `data` overridden. */
function organization(data: Record<string, unknown>): Record<string, unknown> {
  const id = `org_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const event = organizationEvent("organization.created", { id, updatedAt: Date.now() - 1000 });
  return { ...event, data: { ...event.data as Record<string, unknown>, ...data } };
}

/** An `organizationMembership.created` of a fresh membership, with `data` overridden. */
function membership(data: Record<string, unknown>): Record<string, unknown> {
  const id = `orgmem_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const event = membershipEvent("organizationMembership.created", {
    id,
    organizationId: "org_bad_input",
    userId: newClerkId(),
    updatedAt: Date.now() - 1000,
  });
  return { ...event, data: { ...event.data as Record<string, unknown>, ...data } };
}

/** `event` with `data` overridden. */
function withData(event: Record<string, unknown>, data: Record<string, unknown>) {
  return { ...event, data: { ...event.data as Record<string, unknown>, ...data } };
}

/** A fresh Clerk id of `prefix`. */
const freshId = (prefix: string) =>
  `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

/** A Clerk `type` event of a fresh billing or waitlist object, with `data` overridden. */
function billing(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const updatedAt = Date.now() - 1000;
  const payer = { userId: newClerkId() };
  const event = type.startsWith("subscription.")
    ? subscriptionEvent(type, {
      id: freshId("csub"),
      payer,
      items: [{ id: freshId("csub_item"), updatedAt }],
      updatedAt,
    })
    : type.startsWith("subscriptionItem.")
    ? subscriptionItemEvent(type, {
      id: freshId("csub_item"),
      subscriptionId: freshId("csub"),
      payer,
      updatedAt,
    })
    : type.startsWith("paymentAttempt.")
    ? paymentAttemptEvent(type as "paymentAttempt.created", { id: freshId("pa"), payer, updatedAt })
    : waitlistEntryEvent(type as "waitlistEntry.created", {
      id: freshId("wle"),
      emailAddress: `${FIRST_NAME.toLowerCase()}@example.com`,
      updatedAt,
    });
  return withData(event, data);
}

/** An `organizationInvitation.created` of a fresh invitation, with `data` overridden. */
function invitation(data: Record<string, unknown>): Record<string, unknown> {
  const event = invitationEvent("organizationInvitation.created", {
    id: freshId("orginv"),
    organizationId: "org_bad_input",
    email: `${FIRST_NAME.toLowerCase()}@example.com`,
    updatedAt: Date.now() - 1000,
  });
  return withData(event, data);
}

/** A `role.created` of a fresh role, with `data` overridden. */
function role(data: Record<string, unknown>): Record<string, unknown> {
  const event = roleEvent("role.created", {
    id: freshId("role"),
    key: "org:bad_input",
    permissions: ["org:posts:read"],
    updatedAt: Date.now() - 1000,
  });
  return withData(event, data);
}

/** A `permission.created` of a fresh permission, with `data` overridden. */
function permission(data: Record<string, unknown>): Record<string, unknown> {
  const event = permissionEvent("permission.created", {
    id: freshId("perm"),
    key: "org:posts:bad_input",
    updatedAt: Date.now() - 1000,
  });
  return withData(event, data);
}

/** An `organizationDomain.created` of a fresh domain, with `data` overridden. */
function domain(data: Record<string, unknown>): Record<string, unknown> {
  const event = domainEvent("organizationDomain.created", {
    id: freshId("orgdmn"),
    organizationId: "org_bad_input",
    updatedAt: Date.now() - 1000,
  });
  return withData(event, data);
}
/** A delivery as Svix signs it, and its parts to tamper with. */
interface Signed {
  id: string;
  text: string;
  body: Bytes;
  headers: Record<string, string>;
  /** The base64 HMAC of the `v1` signature. */
  mac: string;
}

/** Signs `payload` (serialized once) as Svix does, with the current secret by default. */
function signed(
  payload: unknown = created(),
  options: { secret?: string; id?: string; timestamp?: number } = {},
): Signed {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers = svixHeaders(text, { secret: current, ...options });
  return {
    id: headers["svix-id"]!,
    text,
    body: encoder.encode(text),
    headers,
    mac: headers["svix-signature"]!.slice("v1,".length),
  };
}

/**
 * A `v1` signature of raw `body` bytes, computed with Web Crypto for bodies svix cannot
 * sign (it signs strings, and these bytes are not UTF-8).
 */
async function signBytes(secret: string, id: string, timestamp: number, body: Bytes) {
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret.slice("whsec_".length)), (char) => char.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const content = new Uint8Array([...encoder.encode(`${id}.${timestamp}.`), ...body]);
  return `v1,${encodeBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, content)))}`;
}

/** A signature no secret produced. */
function forged(): string {
  return `v1,${encodeBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Waits for the start of a second, so that a timestamp one second past the 300 s
 * tolerance is still past it when svix compares it with its own clock.
 */
async function startOfSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
}

/** What a case sends. Header pairs are sent byte for byte over raw TCP; a record by fetch. */
interface Sent {
  method?: string;
  headers: Record<string, string> | [name: string, value: string][];
  /** `null` sends no body. */
  body: Bytes | ReadableStream<Bytes> | null;
  /** Every svix-id the case involves (header and signed ones), to look up in the ledger. */
  ids: string[];
}

/** One named row of the table. */
interface Case {
  name: string;
  /** 200 means accepted and applied once; anything else must be a 4xx writing nothing. */
  status: 200 | 400 | 405 | 413 | 422;
  /** Builds the request when the case runs, so that timestamps are fresh. */
  request(): Sent | Promise<Sent>;
}

/** `signed` delivered as is, or with headers replaced (`null` removes one). */
function send(delivery: Signed, headers: Record<string, string | null> = {}): Sent {
  const merged: Record<string, string> = { ...delivery.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return { headers: merged, body: delivery.body, ids: [delivery.id, merged["svix-id"] ?? ""] };
}

/** `signed` with its body replaced by `body`, headers untouched. */
function sendBody(delivery: Signed, body: Bytes): Sent {
  return { headers: delivery.headers, body, ids: [delivery.id] };
}

/** `signed` with `signature` as its svix-signature header. */
function sendSignature(delivery: Signed, signature: string): Sent {
  return send(delivery, { "svix-signature": signature });
}

/** `signed` over raw TCP with the svix header names written as `rename` says. */
function sendNames(delivery: Signed, rename: (name: string) => string): Sent {
  return {
    headers: Object.entries(delivery.headers).map((
      [name, value],
    ): [string, string] => [rename(name), value]),
    body: delivery.body,
    ids: [delivery.id],
  };
}

/** A signed delivery of a Clerk event padded with spaces to exactly `size` bytes. */
function signedOfSize(size: number): Signed {
  const text = JSON.stringify(created());
  return signed(text + " ".repeat(size - encoder.encode(text).length));
}

function chunked(bytes: Bytes, chunkSize: number): ReadableStream<Bytes> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset += chunkSize));
    },
  });
}

function replaceBytes(body: Bytes, search: string, replacement: number[]): Bytes {
  const text = new TextDecoder().decode(body);
  const at = encoder.encode(text.slice(0, text.indexOf(search))).length;
  const length = encoder.encode(search).length;
  return new Uint8Array([...body.slice(0, at), ...replacement, ...body.slice(at + length)]);
}

/** A body with `bytes` (not UTF-8) in place of the first name, validly signed. */
async function signedBytes(bytes: number[]): Promise<Sent> {
  const delivery = signed();
  const body = replaceBytes(delivery.body, FIRST_NAME, bytes);
  const timestamp = Number(delivery.headers["svix-timestamp"]);
  return send(
    { ...delivery, body },
    { "svix-signature": await signBytes(current, delivery.id, timestamp, body) },
  );
}

const BOM = [0xef, 0xbb, 0xbf];

const CASES: Case[] = [
  // ------------------------------------------------------------ svix headers
  ...["svix-id", "svix-timestamp", "svix-signature"].flatMap((name): Case[] => [
    {
      name: `a delivery without ${name}`,
      status: 400,
      request: () => send(signed(), { [name]: null }),
    },
    { name: `an empty ${name}`, status: 400, request: () => send(signed(), { [name]: "" }) },
    {
      name: `${name} named ${name.toUpperCase()} (header names are case-insensitive)`,
      status: 200,
      request: () =>
        sendNames(signed(), (header) => header === name ? header.toUpperCase() : header),
    },
    {
      name: `webhook-${name.slice(5)} in place of ${name} (only svix-* is read)`,
      status: 400,
      request: () => {
        const delivery = signed();
        return send(delivery, {
          [name]: null,
          [`webhook-${name.slice(5)}`]: delivery.headers[name]!,
        });
      },
    },
  ]),
  {
    name: "the svix headers named Svix-Id, Svix-Timestamp and Svix-Signature",
    status: 200,
    request: () =>
      sendNames(signed(), (name) => name.replace(/(^|-)([a-z])/g, (part) => part.toUpperCase())),
  },
  {
    name: "webhook-id, webhook-timestamp and webhook-signature in place of all three",
    status: 400,
    request: () => sendNames(signed(), (name) => name.replace("svix-", "webhook-")),
  },
  {
    name: "a svix-id with a space inside, signed as such",
    status: 400,
    request: () => send(signed(created(), { id: "msg_1 2" })),
  },
  {
    name: "a svix-id of 256 characters, signed as such",
    status: 400,
    request: () => send(signed(created(), { id: `msg_${"x".repeat(252)}` })),
  },
  // ------------------------------------------------------------ svix-timestamp
  // Each is signed for the whole seconds it starts with: svix reads the header with
  // parseInt, so on its own it would accept the fractional, junk and plus-sign ones.
  ...Object.entries<(seconds: number) => string>({
    "of hello": () => "hello",
    "in milliseconds": (seconds) => `${seconds}000`,
    "that is negative": (seconds) => `-${seconds}`,
    "that is fractional": (seconds) => `${seconds}.5`,
    "with trailing junk": (seconds) => `${seconds}abc`,
    "with a plus sign": (seconds) => `+${seconds}`,
    "in hexadecimal": (seconds) => `0x${seconds.toString(16)}`,
    "of 0, the epoch": () => "0",
  }).map(([name, timestamp]): Case => ({
    name: `a svix-timestamp ${name}`,
    status: 400,
    request: () => {
      const delivery = signed();
      return send(delivery, {
        "svix-timestamp": timestamp(Number(delivery.headers["svix-timestamp"])),
      });
    },
  })),
  ...([[299, 200], [-299, 200], [301, 400], [-301, 400]] as const).map((
    [offset, status],
  ): Case => ({
    name: `a svix-timestamp of now ${offset > 0 ? "+" : "-"} ${Math.abs(offset)} s, signed as such`,
    status,
    request: async () => {
      await startOfSecond();
      return send(signed(created(), { timestamp: nowSeconds() + offset }));
    },
  })),
  // ------------------------------------------------------------ svix-signature
  ...Object.entries<(delivery: Signed) => string>({
    "of v1, with nothing after the comma": () => "v1,",
    "of v1 without a comma": () => "v1",
    "of the first 8 characters of the HMAC": ({ mac }) => `v1,${mac.slice(0, 8)}`,
    "of the HMAC one character short": ({ mac }) => `v1,${mac.slice(0, -1)}`,
    "of the HMAC in unpadded base64": ({ mac }) => `v1,${mac.replace(/=+$/, "")}`,
    "of the HMAC as version v2": ({ mac }) => `v2,${mac}`,
    "of the HMAC as version V1": ({ mac }) => `V1,${mac}`,
    "of the HMAC as version v1a": ({ mac }) => `v1a,${mac}`,
    "of the HMAC in hexadecimal": ({ mac }) =>
      `v1,${Array.from(atob(mac), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")}`,
    "of two separated by a tab, the valid one last": ({ mac }) => `${forged()}\tv1,${mac}`,
    "of two separated by a tab, the valid one first": ({ mac }) => `v1,${mac}\t${forged()}`,
    "of two separated by a comma, the valid one last": ({ mac }) => `${forged()},v1,${mac}`,
  }).map(([name, signature]): Case => ({
    name: `a svix-signature ${name}`,
    status: 400,
    request: () => {
      const delivery = signed();
      return sendSignature(delivery, signature(delivery));
    },
  })),
  ...Object.entries<(delivery: Signed) => string>({
    "with the valid signature first among forged ones": ({ mac }) =>
      `v1,${mac} ${forged()} ${forged()}`,
    "with the valid signature between forged ones": ({ mac }) =>
      `${forged()} v1,${mac} ${forged()}`,
    "with the valid signature last among forged ones": ({ mac }) =>
      `${forged()} ${forged()} v1,${mac}`,
    "with the valid signature after a v2 entry": ({ mac }) => `v2,${mac} v1,${mac}`,
    "of two separated by two spaces, the valid one last": ({ mac }) => `${forged()}  v1,${mac}`,
    "of two separated by a comma, the valid one first": ({ mac }) => `v1,${mac},${forged()}`,
  }).map(([name, signature]): Case => ({
    name: `a svix-signature ${name}`,
    status: 200,
    request: () => {
      const delivery = signed();
      return sendSignature(delivery, signature(delivery));
    },
  })),
  {
    name: "svix-signature sent twice, forged then valid (joined with ', ')",
    status: 200,
    request: () => {
      const delivery = signed();
      const headers = Object.entries(delivery.headers).filter(([name]) =>
        name !== "svix-signature"
      );
      return {
        headers: [...headers, ["svix-signature", forged()], [
          "svix-signature",
          delivery.headers["svix-signature"]!,
        ]],
        body: delivery.body,
        ids: [delivery.id],
      };
    },
  },
  {
    name: "a delivery signed with a wrong secret",
    status: 400,
    request: () => send(signed(created(), { secret: newSecret() })),
  },
  {
    name: "a delivery signed with the previous secret during a rotation",
    status: 200,
    request: () => send(signed(created(), { secret: previous })),
  },
  {
    name: "a delivery signed with both secrets during a rotation",
    status: 200,
    request: () => {
      const delivery = signed();
      const old = signed(delivery.text, {
        secret: previous,
        id: delivery.id,
        timestamp: Number(delivery.headers["svix-timestamp"]),
      });
      return sendSignature(delivery, `v1,${old.mac} v1,${delivery.mac}`);
    },
  },
  {
    name: "the signature of another svix-id",
    status: 400,
    request: () => send(signed(), { "svix-id": newSvixId() }),
  },
  {
    name: "the signature of another timestamp",
    status: 400,
    request: () => send(signed(), { "svix-timestamp": String(nowSeconds() - 1) }),
  },
  {
    name: "the signature of another body",
    status: 400,
    request: () => {
      const delivery = signed();
      const other = signed(created(), {
        id: delivery.id,
        timestamp: Number(delivery.headers["svix-timestamp"]),
      });
      return sendSignature(delivery, `v1,${other.mac}`);
    },
  },
  // ------------------------------------------------------------ body bytes
  {
    name: "a body with one byte changed",
    status: 400,
    request: () => {
      const delivery = signed();
      return sendBody(delivery, replaceBytes(delivery.body, FIRST_NAME, [...encoder.encode("X")]));
    },
  },
  {
    name: "a body re-serialized as indented JSON",
    status: 400,
    request: () => {
      const delivery = signed();
      return sendBody(
        delivery,
        encoder.encode(JSON.stringify(JSON.parse(delivery.text), null, 2)),
      );
    },
  },
  {
    name: "a body with a trailing newline added",
    status: 400,
    request: () => {
      const delivery = signed();
      return sendBody(delivery, encoder.encode(`${delivery.text}\n`));
    },
  },
  {
    name: "a body with a UTF-8 BOM added",
    status: 400,
    request: () => {
      const delivery = signed();
      return sendBody(delivery, new Uint8Array([...BOM, ...delivery.body]));
    },
  },
  {
    name: "a body starting with a UTF-8 BOM, signed with it (not JSON)",
    status: 422,
    request: () => send(signed(`\ufeff${JSON.stringify(created())}`)),
  },
  {
    name: "a body with a byte that is not UTF-8 (0xFF), signed as such",
    status: 400,
    request: () => signedBytes([0xff]),
  },
  {
    name: "a body with an overlong UTF-8 encoding (0xC0 0xAF), signed as such",
    status: 400,
    request: () => signedBytes([0xc0, 0xaf]),
  },
  {
    name: "a body with a UTF-8 encoded surrogate (0xED 0xA0 0x80), signed as such",
    status: 400,
    request: () => signedBytes([0xed, 0xa0, 0x80]),
  },
  {
    name: "a body with a truncated UTF-8 sequence (0xE2 0x82), signed as such",
    status: 400,
    request: () => signedBytes([0xe2, 0x82]),
  },
  {
    name: "a body with multi-byte UTF-8 names",
    status: 200,
    request: () => send(signed(created({ first_name: MULTI_BYTE_NAME, last_name: "Ꮳ𝔬𝔡𝔢" }))),
  },
  {
    name: "a name with an escaped NUL, validly signed",
    status: 422,
    request: () => send(signed(created({ first_name: `${FIRST_NAME}\u0000` }))),
  },
  {
    name: "a name with an escaped lone surrogate, validly signed",
    status: 422,
    request: () => send(signed(JSON.stringify(created()).replace(FIRST_NAME, "\\ud800"))),
  },
  // ------------------------------------------------------------ validly signed, not an event
  ...Object.entries<() => unknown>({
    "an empty body": () => "",
    "the JSON null": () => "null",
    "a JSON array of an event": () => JSON.stringify([created()]),
    "a JSON number": () => "42",
    "a JSON string of personal data": () =>
      JSON.stringify(`${FIRST_NAME} ${LAST_NAME} someone@example.com`),
    "truncated JSON": () => JSON.stringify(created()).slice(0, -20),
    "an event without type": () => ({ ...created(), type: undefined }),
    "an event whose type is a number": () => ({ ...created(), type: 1 }),
    "a user.created without data": () => ({ ...created(), data: undefined }),
    "a user.created whose data is null": () => ({ ...created(), data: null }),
    "a user.created without data.id": () => created({ id: undefined }),
    "a user.created whose data.id is a number": () => created({ id: 42 }),
    "a user.created whose data.id is empty": () => created({ id: "" }),
    "a user.created whose email_addresses is not an array": () =>
      created({ email_addresses: "someone@example.com" }),
    "a user.created whose email address is a number": () =>
      created({ email_addresses: [{ id: "idn_primary", email_address: 42 }] }),
    "a user.created without updated_at": () => created({ updated_at: undefined }),
    "a user.created whose updated_at is a day ahead": () =>
      created({ updated_at: Date.now() + 86_400_000 }),
    "a user.created whose first_name is an object": () =>
      created({ first_name: { first: FIRST_NAME } }),
    "a user.created whose public_metadata is an array": () =>
      created({ public_metadata: ["admin"] }),
    "a user.created whose public_metadata is a string": () =>
      created({ public_metadata: `role of ${FIRST_NAME}` }),
    "a user.created whose private_metadata is a number": () => created({ private_metadata: 1 }),
    "a user.created with a NUL inside unsafe_metadata": () =>
      created({ unsafe_metadata: { note: [`${FIRST_NAME}\u0000`] } }),
    "a user.created whose phone_numbers is not an array": () =>
      created({ phone_numbers: { id: "idn_phone", phone_number: "+15550000001" } }),
    "a user.created whose phone number is a number": () =>
      created({ phone_numbers: [{ id: "idn_phone", phone_number: 15550000001 }] }),
    "a user.created whose banned is a string": () => created({ banned: "no" }),
    "a user.created whose username is a number": () => created({ username: 42 }),
    "an organization.created without a name": () => organization({ name: undefined }),
    "an organization.created whose public_metadata is an array": () =>
      organization({ public_metadata: [] }),
    "an organization.created whose slug is a number": () => organization({ slug: 7 }),
    "an organizationMembership.created without its organization": () =>
      membership({ organization: undefined }),
    "an organizationMembership.created without its user": () =>
      membership({ public_user_data: null }),
    "an organizationMembership.created whose role is empty": () => membership({ role: "" }),
    "an organizationMembership.created whose permissions is a string": () =>
      membership({ permissions: "org:posts:read" }),
    "a subscription.created whose payer names neither a user nor an organization": () =>
      billing("subscription.created", {
        payer: { id: "cpayer_x", user_id: "", organization_id: "" },
      }),
    "a subscription.created without its payer": () =>
      billing("subscription.created", { payer: undefined }),
    "a subscription.created whose status is empty": () =>
      billing("subscription.created", { status: "" }),
    "a subscription.created whose items is an object": () =>
      billing("subscription.created", { items: { id: "csub_item_x" } }),
    "a subscription.updated whose item's updated_at is a day ahead": () => {
      const event = billing("subscription.updated", {});
      const data = event.data as { items: Record<string, unknown>[] };
      data.items = [{ ...data.items[0], updated_at: Date.now() + 86_400_000 }];
      return event;
    },
    "a subscriptionItem.active whose seats are negative": () =>
      billing("subscriptionItem.active", { seats: { quantity: -1 } }),
    "a subscriptionItem.updated without updated_at": () =>
      billing("subscriptionItem.updated", { updated_at: undefined }),
    "a subscriptionItem.created whose plan is a string": () =>
      billing("subscriptionItem.created", { plan: "pro" }),
    "a paymentAttempt.created whose grand total is a string": () =>
      billing("paymentAttempt.created", {
        totals: { grand_total: { amount: "22.00", currency: "USD" } },
      }),
    "a paymentAttempt.updated whose payer is null": () =>
      billing("paymentAttempt.updated", { payer: null }),
    "a waitlistEntry.created without an email address": () =>
      billing("waitlistEntry.created", { email_address: undefined }),
    "a waitlistEntry.updated whose status is a number": () =>
      billing("waitlistEntry.updated", { status: 2 }),
    "an organizationInvitation.created without its organization": () =>
      invitation({ organization_id: undefined }),
    "an organizationInvitation.created whose email_address is a number": () =>
      invitation({ email_address: 7 }),
    "an organizationInvitation.created whose status is empty": () => invitation({ status: "" }),
    "an organizationInvitation.created whose expires_at is a date string": () =>
      invitation({ expires_at: new Date().toISOString() }),
    "an organizationInvitation.accepted whose user_id is a number": () => ({
      ...invitation({ user_id: 7 }),
      type: "organizationInvitation.accepted",
    }),
    "a role.created without a key": () => role({ key: undefined }),
    "a role.created whose permissions are keys rather than objects": () =>
      role({ permissions: ["org:posts:read"] }),
    "a role.created whose updated_at is a day ahead": () =>
      role({ updated_at: Date.now() + 86_400_000 }),
    "a permission.created whose key is empty": () => permission({ key: "" }),
    "a permission.created whose name is null": () => permission({ name: null }),
    "an organizationDomain.created without a name": () => domain({ name: undefined }),
    "an organizationDomain.created whose verification is a string": () =>
      domain({ verification: "verified" }),
    "an organizationDomain.created without its organization": () =>
      domain({ organization_id: null }),
    "a role.deleted without data.id": () => ({
      ...objectDeletedEvent("role.deleted", "role_x", Date.now()),
      data: { deleted: true, object: "role" },
    }),
    "an organizationDomain.deleted whose data.id is empty": () =>
      objectDeletedEvent("organizationDomain.deleted", "", Date.now()),
    "an organization.deleted without data.id": () => ({
      ...organizationDeletedEvent("org_x", Date.now()),
      data: { deleted: true, object: "organization" },
    }),
    "an event without timestamp": () => ({ ...created(), timestamp: undefined }),
    "an event whose timestamp is a day ahead": () => ({
      ...created(),
      timestamp: Date.now() + 86_400_000,
    }),
    "an event whose timestamp is a date string": () => ({
      ...created(),
      timestamp: new Date().toISOString(),
    }),
    "a user.deleted without data.id": () => ({
      ...deletedEvent(newClerkId(), Date.now()),
      data: { deleted: true, object: "user" },
    }),
  }).map(([name, payload]): Case => ({
    name: `${name}, validly signed`,
    status: 422,
    request: () => send(signed(payload())),
  })),
  // ------------------------------------------------------------ size
  {
    name: "a body over the limit, with its Content-Length",
    status: 413,
    request: () => send(signedOfSize(MAX_BODY_BYTES + 1)),
  },
  {
    name: "a body over the limit, chunked in 64 KiB pieces without Content-Length",
    status: 413,
    request: () => {
      const delivery = signedOfSize(MAX_BODY_BYTES + 1);
      return { ...send(delivery), body: chunked(delivery.body, 64 * 1024) };
    },
  },
  {
    name: "a body over the limit, chunked in one piece without Content-Length",
    status: 413,
    request: () => {
      const delivery = signedOfSize(MAX_BODY_BYTES + 1);
      return { ...send(delivery), body: chunked(delivery.body, MAX_BODY_BYTES + 1) };
    },
  },
  {
    name: "a Content-Length over the limit, before the body is sent",
    status: 413,
    request: () => {
      const delivery = signedOfSize(MAX_BODY_BYTES + 1);
      return {
        headers: [
          ...Object.entries(delivery.headers),
          ["content-length", String(MAX_BODY_BYTES + 1)],
        ],
        body: new Uint8Array(0),
        ids: [delivery.id],
      };
    },
  },
  {
    name: "a body of exactly the limit, validly signed",
    status: 200,
    request: () => send(signedOfSize(MAX_BODY_BYTES)),
  },
  // ------------------------------------------------------------ method
  ...["GET", "PUT", "DELETE"].map((method): Case => ({
    name: `a signed delivery sent with ${method}`,
    status: 405,
    request: () => {
      const request = send(signed());
      return { ...request, method, body: method === "GET" ? null : request.body };
    },
  })),
];

/**
 * POSTs `headers` and `body` byte for byte over TCP: header names keep their letter
 * case, a header may repeat, and Content-Length is whatever the case says (added
 * otherwise).
 */
async function sendRaw(
  headers: [string, string][],
  body: Bytes,
): Promise<{ status: number; text: string }> {
  const { hostname, port, host } = new URL(server.url);
  const connection = await Deno.connect({ hostname, port: Number(port) });
  const lines = [`POST / HTTP/1.1`, `Host: ${host}`, "Connection: close"];
  if (!headers.some(([name]) => name.toLowerCase() === "content-length")) {
    lines.push(`Content-Length: ${body.length}`);
  }
  lines.push(...headers.map(([name, value]) => `${name}: ${value}`));
  const bytes = new Uint8Array([...encoder.encode(`${lines.join("\r\n")}\r\n\r\n`), ...body]);
  for (let written = 0; written < bytes.length;) {
    written += await connection.write(bytes.subarray(written));
  }
  // Read one response (Deno.serve gives a Content-Length), not up to the end of the
  // stream: the server may keep the connection open for a body it was promised.
  let response = "";
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const head = response.match(/^HTTP\/1\.1 (\d{3}) [^]*?content-length: (\d+)\r\n[^]*?\r\n\r\n/i);
    if (head !== null && encoder.encode(response).length >= head[0].length + Number(head[2])) {
      connection.close();
      return { status: Number(head[1]), text: response.slice(head[0].length) };
    }
    const read = await connection.read(buffer);
    assert.ok(read !== null, `Not a whole HTTP response: ${JSON.stringify(response)}`);
    response += decoder.decode(buffer.subarray(0, read), { stream: true });
  }
}

async function sendRequest(request: Sent): Promise<{ status: number; text: string }> {
  if (Array.isArray(request.headers)) {
    return await sendRaw(request.headers, request.body as Bytes);
  }
  const response = await fetch(server.url, {
    method: request.method ?? "POST",
    headers: request.headers,
    body: request.body,
  });
  return { status: response.status, text: await response.text() };
}

async function counts(ids: string[]) {
  const [row] = await db.sql`
    select (select count(*)::int from public.users) as users,
           (select count(*)::int from public.users_private) as private,
           (select count(*)::int from public.organizations) +
             (select count(*)::int from public.organization_memberships) +
             (select count(*)::int from public.organization_invitations) +
             (select count(*)::int from public.organization_roles) +
             (select count(*)::int from public.organization_permissions) +
             (select count(*)::int from public.organization_domains) +
             (select count(*)::int from public.billing_subscriptions) +
             (select count(*)::int from public.billing_subscription_items) +
             (select count(*)::int from public.billing_payment_attempts) +
             (select count(*)::int from public.waitlist_entries) as others,
           (select count(*)::int from clerk_sync.deliveries) as deliveries,
           (select coalesce(array_agg(outcome), '{}') from clerk_sync.deliveries
            where svix_id = any(${ids})) as outcomes`;
  return row as unknown as {
    users: number;
    private: number;
    /** Rows of every other synced table: organizations and theirs, billing, the waitlist. */
    others: number;
    deliveries: number;
    outcomes: string[];
  };
}

/** Whether `text` shows any of the personal data sent. */
function personalData(text: string): string | undefined {
  return ["@", FIRST_NAME, LAST_NAME, MULTI_BYTE_NAME].find((secret) => text.includes(secret));
}

Deno.test("the bad-input table has at least 60 distinct named cases", () => {
  assert.ok(CASES.length >= 60, `${CASES.length} cases`);
  assert.equal(new Set(CASES.map(({ name }) => name)).size, CASES.length);
});

for (const testCase of CASES) {
  const verdict = testCase.status === 200 ? "applying it once" : "writing nothing";
  Deno.test(`createHandler() answers ${testCase.status} to ${testCase.name}, ${verdict}`, async () => {
    const request = await testCase.request();
    const ids = request.ids.filter((id) => id !== "");
    const before = await counts(ids);
    const logged = logs.length;

    const { status, text } = await sendRequest(request);

    assert.equal(status, testCase.status, text);
    const after = await counts(ids);
    if (status === 200) {
      assert.deepEqual(JSON.parse(text), { outcome: "applied" });
      assert.deepEqual(after, {
        users: before.users + 1,
        private: before.private + 1,
        others: before.others,
        deliveries: before.deliveries + 1,
        outcomes: ["applied"],
      });
    } else {
      assert.match(JSON.parse(text).error, /^[A-Z]/, "a sentence saying what is wrong");
      assert.deepEqual(after, { ...before, outcomes: [] }, "no row and no ledger entry");
    }

    assert.equal(logs.length, logged + 1, "one log line per request");
    const entry = logs[logged]!;
    assert.equal(entry.status, status);
    if (status === 200) assert.equal(entry.outcome, "applied");
    else assert.match(entry.error ?? "", /\w/, "the log line says why");
    const line = JSON.stringify(entry);
    assert.equal(personalData(line), undefined, `the log line shows personal data: ${line}`);
    assert.equal(personalData(text), undefined, `the answer shows personal data: ${text}`);
  });
}
