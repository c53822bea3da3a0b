/**
 * A function installed into a Supabase project, run as its folder has it: `deno run` from
 * the function's folder, so that its own deno.json resolves the imports, with only the
 * permissions the hosted edge runtime grants.
 */
import {
  CACHED_ONLY,
  collectOutput,
  denoEnv,
  type DenoRuntime,
  freePort,
} from "../../dev/function_process.ts";

/** A running function of a project. */
export interface ProjectFunction extends AsyncDisposable {
  url: string;
  /** Everything the process printed so far. */
  output(): string;
}

/** Starts `index.ts` in `folder` on `runtime` with `env` (and PORT); waits until it listens. */
export async function startProjectFunction(
  folder: string,
  runtime: DenoRuntime,
  env: Record<string, string>,
): Promise<ProjectFunction> {
  if (runtime.executable === undefined) throw new Error(`${runtime.name} is not installed`);
  const port = freePort();
  const child = new Deno.Command(runtime.executable, {
    args: ["run", CACHED_ONLY, "--allow-net", "--allow-env", "--allow-read", "index.ts"],
    cwd: folder,
    env: { ...denoEnv(), ...env, PORT: String(port), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, collecting } = collectOutput(child);
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch (error) {
      // It has exited already.
      if (!(error instanceof TypeError)) throw error;
    }
    await status;
    await collecting;
  };
  for (let waited = 0; !/Listening on/.test(text()); waited += 20) {
    if (exited || waited > 60_000) {
      await stop();
      throw new Error(`The installed function did not start:\n${text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `http://127.0.0.1:${port}/`, output: text, [Symbol.asyncDispose]: stop };
}
