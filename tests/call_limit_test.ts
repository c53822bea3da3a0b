/**
 * The group commit's calls in flight against a model of a database server, since this
 * machine has two cores: a server with `workers` cores, each call holding one core for a
 * fixed cost plus a cost per delivery, the calls beyond `workers` waiting their turn.
 * The model runs in simulated time (each call's cost varies by up to a third, from a
 * seeded generator), so that what is measured is the limit, not this machine's load.
 * The limit must find what the server absorbs: on one core, about what one call at a
 * time gives; on eight, several times more; and throughput must not fall as load rises.
 */
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { ClerkEvent } from "../functions/clerk-webhook/clerk_event.ts";
import { type ApplyBatch, groupCommit } from "../functions/clerk-webhook/group_commit.ts";
import { createCallLimit } from "../functions/clerk-webhook/call_limit.ts";

/** Milliseconds a call holds a core: a round trip and a commit, then each delivery. */
const CALL_MS = 1;
const DELIVERY_MS = 0.25;

/** Simulated time: timers fire in order of their time, once nothing else can run. */
class SimulatedClock {
  now = 0;
  #timers: { at: number; fire: () => void }[] = [];
  #seed = 1;

  sleep(ms: number): Promise<void> {
    return new Promise((fire) => {
      this.#timers.push({ at: this.now + ms, fire });
      this.#timers.sort((a, b) => a.at - b.at);
    });
  }

  /** A pseudo-random number in [0, 1), the same sequence on every run. */
  random(): number {
    this.#seed = (this.#seed * 48271) % 0x7fffffff;
    return this.#seed / 0x7fffffff;
  }

  /** Runs until `until` ms of simulated time have passed or nothing is left to run. */
  async run(until: number): Promise<void> {
    while (this.now < until) {
      // Every promise that can settle without time passing settles first.
      await new Promise((resolve) => setImmediate(resolve));
      const timer = this.#timers.shift();
      if (timer === undefined) return;
      this.now = timer.at;
      timer.fire();
    }
  }
}

/** A server of `workers` cores as an `applyBatch`: calls queue for a free core. */
function modelServer(clock: SimulatedClock, workers: number): ApplyBatch {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return async ({ p_events }) => {
    if (busy >= workers) await new Promise<void>((resolve) => waiting.push(resolve));
    busy++;
    const cost = (CALL_MS + DELIVERY_MS * p_events.length) * (0.67 + 0.66 * clock.random());
    await clock.sleep(cost);
    busy--;
    waiting.shift()?.();
    return p_events.map(() => "applied" as const);
  };
}

const EVENT: ClerkEvent = {
  type: "user.created",
  objectId: "user_1",
  occurredAt: new Date(),
  state: null,
};

/**
 * Deliveries per simulated second through `calls` calls (or the adaptive limit of up to
 * 8), `inFlight` at a time: 4 s to settle, then 8 s measured.
 */
async function throughput(
  workers: number,
  calls: number | "adaptive",
  inFlight: number,
): Promise<number> {
  const clock = new SimulatedClock();
  const now = () => clock.now;
  const store = groupCommit(
    modelServer(clock, workers),
    calls === "adaptive"
      ? { maxCalls: 8, maxBatch: 100, now }
      : { maxCalls: calls, maxBatch: 100, adaptive: false },
  );
  const [settle, end] = [4_000, 12_000];
  let measured = 0;
  let stopped = false;
  const senders = Array.from({ length: inFlight }, async () => {
    while (!stopped) {
      await store.apply(crypto.randomUUID(), EVENT);
      if (clock.now >= settle && clock.now < end) measured++;
    }
  });
  await clock.run(end);
  stopped = true;
  await clock.run(Infinity);
  await Promise.all(senders);
  return measured / ((end - settle) / 1000);
}

Deno.test("the call limit finds what a server of 8 cores absorbs: well above one call's throughput, near 8 fixed calls', and no fall as load rises", async () => {
  const one = await throughput(8, 1, 64);
  const bestFixed = await throughput(8, 8, 64);
  const [adaptive16, adaptive64, adaptive256] = [
    await throughput(8, "adaptive", 16),
    await throughput(8, "adaptive", 64),
    await throughput(8, "adaptive", 256),
  ];
  console.log(
    `8 cores: 1 call ${one.toFixed(0)}/s, 8 calls ${bestFixed.toFixed(0)}/s; adaptive at 16, 64, ` +
      `256 in flight: ${adaptive16.toFixed(0)}, ${adaptive64.toFixed(0)}, ${
        adaptive256.toFixed(0)
      }/s`,
  );
  assert.ok(adaptive64 > 2 * one, "well above one call's throughput at 64 in flight");
  assert.ok(adaptive64 > 0.8 * bestFixed, "within a fifth of 8 fixed calls");
  assert.ok(adaptive256 > 0.95 * adaptive64, "no fall from 64 to 256 in flight");
  assert.ok(adaptive64 > 0.95 * adaptive16, "no fall from 16 to 64 in flight");
});

Deno.test("the call limit keeps about one call's throughput on a server of one core, where more calls only queue", async () => {
  const one = await throughput(1, 1, 64);
  const fixed8 = await throughput(1, 8, 64);
  const adaptive = await throughput(1, "adaptive", 64);
  console.log(
    `1 core: 1 call ${one.toFixed(0)}/s, 8 calls ${fixed8.toFixed(0)}/s, adaptive ${
      adaptive.toFixed(0)
    }/s`,
  );
  assert.ok(fixed8 < 0.8 * one, "the model: 8 fixed calls lose on one core");
  assert.ok(adaptive > 0.9 * one, "within 10 % of one call at a time");
});

Deno.test("createCallLimit() stays as it is while nothing waits, and never leaves [1, max]", () => {
  let clock = 0;
  const limit = createCallLimit({ max: 3, now: () => clock });
  for (let i = 0; i < 100; i++) {
    clock += 50;
    limit.ended(10, false);
  }
  assert.equal(limit.current(), 1, "unsaturated: no change");
  for (let i = 0; i < 1000; i++) {
    clock += 30;
    limit.ended(10 * limit.current(), true); // Each call more helps: it climbs to the max.
    assert.ok(limit.current() >= 1 && limit.current() <= 3);
  }
  assert.ok(limit.current() >= 2);
});

Deno.test("createCallLimit() goes back to one call after 2 s with nothing waiting, not before", () => {
  let clock = 0;
  const limit = createCallLimit({ max: 4, now: () => clock });
  for (let i = 0; i < 1000; i++) {
    clock += 30;
    limit.ended(10 * limit.current(), true); // Each call more helps: it climbs.
  }
  const climbed = limit.current();
  assert.ok(climbed > 1, `climbed to ${climbed}`);
  clock += 1_000;
  limit.ended(1, false);
  assert.equal(limit.current(), climbed, "1 s with nothing waiting: unchanged");
  clock += 1_500;
  limit.ended(1, false);
  assert.equal(limit.current(), 1, "2.5 s with nothing waiting: one call");
});
