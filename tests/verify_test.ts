/** WebhookVerifier and parseWebhookSecrets against the Standard Webhooks known answers. */
import assert from "node:assert/strict";
import {
  parseWebhookSecrets,
  WebhookVerificationError,
  WebhookVerifier,
} from "../functions/clerk-webhook/verify.ts";

const VECTORS = JSON.parse(
  await Deno.readTextFile(
    new URL("../fixtures/standard-webhooks/vectors.json", import.meta.url),
  ),
);
const KAT = VECTORS.positive[0];
const encoder = new TextEncoder();

/** Runs `fn` with the clock at `seconds`: the vectors were signed in 2021 and 2022. */
function at<T>(seconds: number, fn: () => T): T {
  const realNow = Date.now;
  Date.now = () => seconds * 1000;
  try {
    return fn();
  } finally {
    Date.now = realNow;
  }
}

function verify(secret: string, id: string, timestamp: number, payload: string, signature: string) {
  const headers = new Headers({
    "svix-id": id,
    "svix-timestamp": String(timestamp),
    "svix-signature": signature,
  });
  return at(
    timestamp,
    () => new WebhookVerifier(parseWebhookSecrets(secret)).verify(encoder.encode(payload), headers),
  );
}

Deno.test("WebhookVerifier.verify() accepts every positive known-answer vector", () => {
  for (const vector of VECTORS.positive) {
    const signature = vector.signature_header ?? vector.expected_signature;
    const timestamp = vector.timestamp ?? KAT.timestamp;
    const delivery = verify(vector.secret, vector.msg_id, timestamp, vector.payload, signature);
    assert.deepEqual(delivery, { id: vector.msg_id, body: vector.payload }, vector.id);
  }
});

Deno.test("WebhookVerifier.verify() accepts the large-payload vectors and the unprefixed secret", () => {
  const large = VECTORS.positive_large_payloads;
  for (const { payload_spec, expected_signature } of large.cases) {
    const payload = payload_spec.repeat_char.repeat(payload_spec.count);
    assert.equal(
      verify(large.secret, large.msg_id, large.timestamp, payload, expected_signature).body.length,
      payload_spec.count,
    );
  }
  const delivery = verify(
    KAT.secret_unprefixed_also_valid,
    KAT.msg_id,
    KAT.timestamp,
    KAT.payload,
    KAT.expected_signature,
  );
  assert.equal(delivery.id, KAT.msg_id);
});

Deno.test("WebhookVerifier.verify() rejects every negative known-answer vector", () => {
  for (const vector of VECTORS.negative) {
    assert.throws(
      () =>
        verify(
          vector.secret ?? KAT.secret,
          vector.msg_id ?? KAT.msg_id,
          vector.timestamp ?? KAT.timestamp,
          vector.payload ?? KAT.payload,
          vector.signature_header,
        ),
      WebhookVerificationError,
      vector.id,
    );
  }
});

Deno.test("WebhookVerifier.verify() keeps the 5-minute tolerance of the reference libraries", () => {
  for (
    const { offset_seconds, expect } of VECTORS.time_dependent_cases.cases.filter((
      c: { offset_seconds?: number },
    ) => c.offset_seconds !== undefined)
  ) {
    const now = KAT.timestamp - offset_seconds;
    const headers = new Headers({
      "svix-id": KAT.msg_id,
      "svix-timestamp": String(KAT.timestamp),
      "svix-signature": KAT.expected_signature,
    });
    const run = () =>
      at(now, () => new WebhookVerifier([KAT.secret]).verify(encoder.encode(KAT.payload), headers));
    if (expect === "accept") assert.doesNotThrow(run, String(offset_seconds));
    else assert.throws(run, WebhookVerificationError, String(offset_seconds));
  }
});

Deno.test("WebhookVerifier.verify() accepts a delivery signed with any secret of a rotation", () => {
  const other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
  const headers = new Headers({
    "svix-id": KAT.msg_id,
    "svix-timestamp": String(KAT.timestamp),
    "svix-signature": KAT.expected_signature,
  });
  for (
    const secrets of [
      `${other} ${KAT.secret}`,
      `${KAT.secret},${other}`,
      `${other} , ${KAT.secret}`,
    ]
  ) {
    const verifier = new WebhookVerifier(parseWebhookSecrets(secrets));
    assert.equal(
      at(KAT.timestamp, () => verifier.verify(encoder.encode(KAT.payload), headers)).id,
      KAT.msg_id,
    );
  }
  const without = new WebhookVerifier([other]);
  assert.throws(
    () => at(KAT.timestamp, () => without.verify(encoder.encode(KAT.payload), headers)),
    WebhookVerificationError,
  );
});

Deno.test("WebhookVerifier.verify() ignores webhook-* headers: Clerk sends svix-*", () => {
  const headers = new Headers(KAT.headers_standard);
  assert.throws(
    () =>
      at(
        KAT.timestamp,
        () => new WebhookVerifier([KAT.secret]).verify(encoder.encode(KAT.payload), headers),
      ),
    /Missing "svix-id" header/,
  );
});

Deno.test("WebhookVerifier.verify() rejects a timestamp that is not whole seconds, even when signed", () => {
  for (
    const timestamp of [
      `${KAT.timestamp}.0`,
      `${KAT.timestamp}abc`,
      `-${KAT.timestamp}`,
      `+${KAT.timestamp}`,
    ]
  ) {
    const headers = new Headers({
      "svix-id": KAT.msg_id,
      "svix-timestamp": timestamp,
      "svix-signature": KAT.expected_signature,
    });
    assert.throws(
      () =>
        at(
          KAT.timestamp,
          () => new WebhookVerifier([KAT.secret]).verify(encoder.encode(KAT.payload), headers),
        ),
      /svix-timestamp/,
      timestamp,
    );
  }
});

Deno.test("parseWebhookSecrets() refuses secrets svix refuses and keys under 24 bytes", () => {
  for (const secret of VECTORS.secret_cases.map((c: { secret: string }) => c.secret)) {
    assert.throws(() => parseWebhookSecrets(secret), TypeError, JSON.stringify(secret));
  }
  assert.throws(() => parseWebhookSecrets("whsec_c2hvcnQ="), /fewer than 24 bytes/);
  assert.throws(() => parseWebhookSecrets(`${KAT.secret} whsec_!!`), /Secret 2/);
  assert.deepEqual(parseWebhookSecrets(` ${KAT.secret}\n`), [KAT.secret]);
});
