/**
 * The clerk-webhook function as its own process, with only the permissions the Supabase
 * edge runtime grants (net, env and read), on the Deno of this run or on the hosted
 * runtime's Deno 2.1.4. The benchmark starts its other servers (bench/naive_handler.ts,
 * …) the same way.
 */
const ENTRYPOINT = new URL("../functions/clerk-webhook/index.ts", import.meta.url);
const HOSTED_DENO_BINARY = new URL("../node_modules/deno-edge-runtime/deno", import.meta.url);

/** A Deno to serve the function with. */
export interface DenoRuntime {
  name: string;
  /** The binary; undefined where npm has no build of this Deno for the platform. */
  executable: string | undefined;
  /** Flags before the permissions. */
  flags: string[];
}

/** The Deno that runs this process (the one the project develops with). */
export const LOCAL_DENO: DenoRuntime = {
  name: `Deno ${Deno.version.deno}`,
  executable: Deno.execPath(),
  flags: [],
};

/**
 * The Deno embedded in Supabase's hosted edge runtime, from npm (`deno-edge-runtime`,
 * an alias of `@deno/linux-x64-glibc@2.1.4`: npm has no other build of 2.1.4). It
 * cannot read a version-5 deno.lock, so it runs with `--no-lock` on the exactly pinned
 * import map, as the runtime resolves a deployed function's imports.
 */
export const HOSTED_DENO: DenoRuntime = {
  name: "Deno 2.1.4 (hosted edge runtime)",
  executable: (() => {
    try {
      return Deno.statSync(HOSTED_DENO_BINARY).isFile ? HOSTED_DENO_BINARY.pathname : undefined;
    } catch {
      return undefined;
    }
  })(),
  flags: ["--no-lock"],
};

/** Both, in the order tests run them. */
export const RUNTIMES: readonly DenoRuntime[] = [LOCAL_DENO, HOSTED_DENO];

/** What the hosted runtime grants a function. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read"];

/**
 * Processes of the tests and the benchmark read npm packages from Deno's cache only, which
 * dev/prefetch.ts fills first: Deno 2.9 otherwise revalidates a package's registry
 * metadata now and then (on a dynamic import, in a folder without a lock), which fails
 * without a network and prints "Download …" where the tests read the output.
 */
export const CACHED_ONLY = "--cached-only";

/** Deno's own settings that a cleared environment must keep: its cache, and this machine's CA. */
export function denoEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const cache = Deno.env.get("DENO_DIR");
  const certificates = Deno.env.get("DENO_CERT") ?? Deno.env.get("SSL_CERT_FILE");
  if (cache) env.DENO_DIR = cache;
  if (certificates) env.DENO_CERT = certificates;
  return env;
}

/**
 * Fetches what `entrypoint` (the function by default) imports into Deno's cache for
 * `runtime`, ahead of the tests and the benchmark, so that no first start is a download
 * (servers run with `--cached-only`).
 */
export async function cacheFunction(
  runtime: DenoRuntime,
  entrypoint: URL = ENTRYPOINT,
): Promise<void> {
  if (runtime.executable === undefined) return;
  const output = await new Deno.Command(runtime.executable, {
    args: ["cache", ...runtime.flags, entrypoint.pathname],
    env: denoEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `${runtime.name} cannot load ${entrypoint.pathname}:\n${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
}

/** A running function process. */
export interface FunctionProcess extends AsyncDisposable {
  url: string;
  /** The process id, e.g. to read its memory in /proc. */
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Waits until the output matches `pattern` (output reaches us a little after responses). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** What a child process prints on stdout and stderr, as it arrives; `collecting` ends with both. */
export function collectOutput(
  child: Deno.ChildProcess,
): { text: () => string; collecting: Promise<unknown> } {
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  return {
    text: () => text,
    collecting: Promise.all([collect(child.stdout), collect(child.stderr)]),
  };
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Where and on what the function runs. */
export interface StartOptions {
  /** Another server that prints "Listening on"; the function by default. */
  entrypoint?: URL;
  /** The Deno that serves it; this run's by default. */
  runtime?: DenoRuntime;
}

/** Starts the function with `env` (and PORT) and waits until it listens. */
export async function startFunction(
  env: Record<string, string>,
  { entrypoint = ENTRYPOINT, runtime = LOCAL_DENO }: StartOptions = {},
): Promise<FunctionProcess> {
  if (runtime.executable === undefined) {
    throw new Error(`${runtime.name} has no npm build for ${Deno.build.target}`);
  }
  const port = freePort();
  const child = new Deno.Command(runtime.executable, {
    args: ["run", ...runtime.flags, CACHED_ONLY, ...PERMISSIONS, entrypoint.href],
    env: { ...denoEnv(), ...env, PORT: String(port), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, collecting } = collectOutput(child);
  const waitForOutput = async (pattern: RegExp, timeoutMs = 10_000) => {
    for (let waited = 0; !pattern.test(text()); waited += 10) {
      if (waited > timeoutMs) throw new Error(`No output matching ${pattern} in:\n${text()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return text();
  };
  await waitForOutput(/Listening on/, 20_000);
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid,
    output: text,
    waitForOutput,
    async [Symbol.asyncDispose]() {
      // A function that crashed has already exited: there is nothing to stop.
      try {
        child.kill("SIGTERM");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      await child.status;
      await collecting;
    },
  };
}
