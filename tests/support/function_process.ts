/**
 * The clerk-webhook function as its own process, started the way `npm start` does,
 * with only the permissions the Supabase edge runtime grants (net and env). The
 * benchmark starts its other servers (bench/naive_handler.ts, …) the same way.
 */
const ENTRYPOINT = new URL("../../functions/clerk-webhook/index.ts", import.meta.url);

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

/**
 * Starts the function (or another server at `entrypoint` that prints "Listening on")
 * with `env` (and PORT) and waits until it listens.
 */
export async function startFunction(
  env: Record<string, string>,
  entrypoint: URL = ENTRYPOINT,
): Promise<FunctionProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", entrypoint.href],
    env: { ...env, PORT: String(port), NO_COLOR: "1" },
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
