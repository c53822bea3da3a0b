/** Cold start: from spawning a server process to its first 200 answer. */
import type { FunctionProcess } from "../dev/function_process.ts";
import { percentile } from "./load.ts";

/** Cold starts in milliseconds: every sample and their median. */
export interface ColdStart {
  medianMs: number;
  samplesMs: number[];
}

/**
 * Starts a server with `start` `count` times, one after the other, and times each from
 * the spawn to the first successful answer of `deliver`; each server is stopped after.
 * The readiness check polls the process output every 10 ms, so a sample may be up to
 * 10 ms long, never short.
 */
export async function measureColdStart(
  count: number,
  start: () => Promise<FunctionProcess>,
  deliver: (url: string) => Promise<unknown>,
): Promise<ColdStart> {
  const samplesMs: number[] = [];
  for (let attempt = 0; attempt < count; attempt++) {
    const started = performance.now();
    await using server = await start();
    await deliver(server.url);
    samplesMs.push(performance.now() - started);
  }
  return { medianMs: percentile([...samplesMs].sort((a, b) => a - b), 50), samplesMs };
}
