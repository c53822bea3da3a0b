/**
 * PgBouncer in transaction mode in front of the run's PostgreSQL: the pooler this
 * machine can run (Debian's `pgbouncer`), standing for the transaction-mode pooler
 * Supabase tells edge functions to use (Supavisor, port 6543). In transaction mode a
 * server connection serves a client for one transaction only, so two statements of one
 * client may run on different server connections, as they do behind Supavisor.
 *
 * Debian's PgBouncer 1.18 predates prepared-statement support (1.21), as Supavisor has
 * it off by default: a client's named prepared statements fail through either.
 */
import { collectOutput, freePort } from "./function_process.ts";
import { serverUser } from "./postgres_server.ts";

/** Where Debian installs it; PATH is searched first. */
const DEBIAN_BINARY = "/usr/sbin/pgbouncer";

/** Options of {@linkcode startPgBouncer}. */
export interface PgBouncerOptions {
  /** The PostgreSQL server to pool, as a postgres:// URL (its host and port). */
  serverUrl: string;
  /** Server connections per database and user (`default_pool_size`). */
  serverConnections: number;
}

/** A running PgBouncer. */
export interface PgBouncer extends AsyncDisposable {
  /** `databaseUrl` with its host and port replaced by the pooler's. */
  via(databaseUrl: string): string;
  /** What PgBouncer printed so far. */
  output(): string;
}

/** The pgbouncer binary, or an error saying how to install it. */
async function findBinary(): Promise<string> {
  const path = Deno.env.get("PATH") ?? "";
  for (const dir of [...path.split(":").filter(Boolean), "/usr/sbin"]) {
    const candidate = `${dir}/pgbouncer`;
    if (await Deno.stat(candidate).then((info) => info.isFile, () => false)) return candidate;
  }
  throw new Error(
    `PgBouncer is not installed (looked on PATH and at ${DEBIAN_BINARY}): ` +
      "install it with `apt-get install pgbouncer` (Debian, Ubuntu) or your system's package",
  );
}

/**
 * Starts PgBouncer on a free port of 127.0.0.1 in `pool_mode = transaction`, trusting
 * every client (as the run's PostgreSQL does) and connecting to `serverUrl` as the
 * client's user, with at most `serverConnections` server connections per database.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = await findBinary();
  const server = new URL(options.serverUrl);
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "cws_pgbouncer_" });
  const user = await serverUser();
  const config = [
    "[databases]",
    `* = host=${server.hostname} port=${server.port || 5432}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${dir}/users.txt`,
    "pool_mode = transaction",
    `default_pool_size = ${options.serverConnections}`,
    `max_db_connections = ${options.serverConnections}`,
    "max_client_conn = 1000",
    // Clients wait for a server connection rather than fail, as with Supavisor.
    "query_wait_timeout = 30",
    "ignore_startup_parameters = extra_float_digits",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/pgbouncer.ini`, `${config}\n`);
  await Deno.writeTextFile(`${dir}/users.txt`, `"${server.username || "postgres"}" ""\n`);
  // Whoever runs it must read its files, whatever the umask of this process.
  for (const path of [dir, `${dir}/pgbouncer.ini`, `${dir}/users.txt`]) {
    await Deno.chmod(path, path === dir ? 0o755 : 0o644);
  }

  const child = new Deno.Command(binary, {
    args: [`${dir}/pgbouncer.ini`],
    cwd: dir,
    ...user,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, collecting } = collectOutput(child);
  const stop = async () => {
    try {
      child.kill("SIGINT");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // It had exited already.
    }
    await child.status;
    await collecting;
    await Deno.remove(dir, { recursive: true });
  };
  for (let waited = 0; !/process up/.test(text()); waited += 20) {
    if (waited > 10_000) {
      await stop();
      throw new Error(`PgBouncer did not start:\n${text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    via(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.href;
    },
    output: text,
    [Symbol.asyncDispose]: stop,
  };
}
