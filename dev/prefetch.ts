/**
 * Fetching, while the network is there, everything that the tests' and the benchmark's
 * Deno processes import, so that they can run with `--cached-only` (dev/function_process.ts)
 * and a machine without network passes `npm test` once this has run.
 */
import { cacheFunction, HOSTED_DENO } from "./function_process.ts";

const ROOT = new URL("../", import.meta.url);

/** Where the project's TypeScript lives: every module a test may run, in a process or a copy. */
const SOURCE_DIRS = ["functions", "cli", "dev", "tests", "bench"];

/** Every TypeScript module of the project, for {@linkcode prefetch}. */
async function sourceModules(): Promise<string[]> {
  const modules: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) modules.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) await walk(new URL(dir, ROOT).pathname);
  return modules.sort();
}

/**
 * The first step of a test or benchmark run: fetches into Deno's cache every dependency
 * that any of its processes imports (the lock's npm packages, on this Deno and on the
 * hosted runtime's 2.1.4), so that the rest of the run, and every later one, needs no
 * network. Once the cache has them, it reads only the cache.
 */
export async function prefetch(): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--entrypoint", ...await sourceModules()],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      "Cannot fetch the modules the tests import (a first run needs the npm registry; " +
        `later runs read Deno's cache):\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  await cacheFunction(HOSTED_DENO);
}
