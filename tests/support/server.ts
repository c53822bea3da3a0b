/** Serving a handler on a free local port, over real HTTP. */

/** A running local server. */
export interface LocalServer extends AsyncDisposable {
  url: string;
}

/** Serves `handler` on 127.0.0.1 at a free port until disposed. */
export function serveLocally(handler: (request: Request) => Promise<Response>): LocalServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
