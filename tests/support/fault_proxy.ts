/**
 * A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL in the tests), whose link
 * can be cut or black-holed on command, to show what the function does when its
 * database becomes unreachable and comes back.
 *
 * - `cut()`: open connections are closed at once, in both directions, and new ones are
 *   refused (the proxy stops listening), as when the server stops. Whatever was
 *   forwarded before stays forwarded.
 * - `blackHole()`: nothing flows any more, either way, and nothing is closed; new
 *   connections are accepted and hang, or with `refuseNew` are refused (the host is
 *   gone: what was open goes silent, what is new is turned away). As after a network
 *   partition that heals, the held bytes are delivered, in order, on `restore()`.
 * - `restore()`: listens and forwards again.
 */

/** A running proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** The port the proxy listens on at 127.0.0.1. */
  port: number;
  /** `url` (e.g. a postgres:// URL of the target) pointed at the proxy instead. */
  via(url: string): string;
  /** Closes every open connection and refuses new ones until `restore()`. */
  cut(): void;
  /**
   * Holds every byte in both directions until `restore()`, closing nothing; new
   * connections hang too, or are refused with `refuseNew`.
   */
  blackHole(options?: { refuseNew?: boolean }): void;
  /** Forwards again, delivering what a black hole held. */
  restore(): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** One client connection and its connection to the target. */
interface Link {
  client: Deno.Conn;
  server: Deno.Conn | undefined;
  closed: boolean;
}

/** Starts a proxy to `target` (host and port) on a free port of 127.0.0.1. */
export function startFaultProxy(target: { hostname: string; port: number }): FaultProxy {
  let listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const links = new Set<Link>();
  // Resolved while forwarding; pending while black-holed.
  let flowing = Promise.withResolvers<void>();
  flowing.resolve();
  let holding = false;
  const flow = () => {
    holding = false;
    flowing.resolve();
  };

  const close = (link: Link) => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    for (const conn of [link.client, link.server]) {
      try {
        conn?.close();
      } catch {
        // Already closed by the other pump.
      }
    }
  };

  const pump = async (from: Deno.Conn, to: Deno.Conn, link: Link) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        // A black hole holds this chunk, and reads nothing more, until restored.
        await flowing.promise;
        if (link.closed) break;
        for (let written = 0; written < read;) {
          written += await to.write(buffer.subarray(written, read));
        }
      }
    } catch {
      // A side went away: the link ends.
    }
    close(link);
  };

  const serve = async (client: Deno.Conn) => {
    const link: Link = { client, server: undefined, closed: false };
    links.add(link);
    try {
      link.server = await Deno.connect(target);
    } catch {
      return close(link);
    }
    if (link.closed) return close(link);
    await Promise.all([pump(client, link.server, link), pump(link.server, client, link)]);
  };

  const accept = async (from: Deno.Listener) => {
    try {
      for await (const client of from) serve(client);
    } catch {
      // The listener was closed.
    }
  };
  let accepting = accept(listener);
  let listening = true;

  const listen = (on: boolean) => {
    if (on === listening) return;
    listening = on;
    if (on) {
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      accepting = accept(listener);
    } else {
      listener.close();
    }
  };

  const cut = () => {
    listen(false);
    for (const link of links) close(link);
    flow();
  };

  const blackHole = ({ refuseNew = false } = {}) => {
    listen(!refuseNew);
    if (!holding) flowing = Promise.withResolvers<void>();
    holding = true;
  };

  const restore = () => {
    listen(true);
    flow();
  };

  const shutDown = async () => {
    cut();
    await accepting;
  };
  return {
    port,
    via(url) {
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(port);
      return proxied.href;
    },
    cut,
    blackHole,
    restore,
    close: shutDown,
    [Symbol.asyncDispose]: shutDown,
  };
}
