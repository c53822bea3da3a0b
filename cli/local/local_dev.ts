/**
 * What the local commands (`npm start`, `npm run send`, `npm run users`) share in
 * `.data/` (git-ignored): the development signing secret, the embedded database and
 * the address of the running `npm start`.
 */
import { fileURLToPath } from "node:url";
import { SECRET_VARIABLES } from "../../functions/clerk-webhook/config.ts";
import { newSecret } from "../../dev/webhooks.ts";

/** The project's root directory. */
export const ROOT = new URL("../../", import.meta.url);
/** `.data/` in the project root. */
export const DATA_DIR = new URL(".data/", ROOT);
/** The embedded database's directory. */
export const PGLITE_DIR = new URL("pglite/", DATA_DIR);
const DEV_SECRET_FILE = new URL("webhook_secret", DATA_DIR);
const SERVER_FILE = new URL("server.json", DATA_DIR);

/** The default address of `npm start`. */
export const DEFAULT_PORT = 8000;

/** `url` as a path relative to the project root, for messages. */
export function displayPath(url: URL): string {
  return fileURLToPath(url).slice(fileURLToPath(ROOT).length);
}

/** The first of {@linkcode SECRET_VARIABLES} that is set, if any. */
export function configuredSecretVariable(
  env: (name: string) => string | undefined,
): string | undefined {
  return SECRET_VARIABLES.find((name) => env(name)?.trim());
}

/** The development signing secret, if `npm start` created one. */
export async function readDevSecret(): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(DEV_SECRET_FILE)).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The development signing secret, created (readable by the owner only) on first use. */
export async function ensureDevSecret(): Promise<{ secret: string; created: boolean }> {
  const existing = await readDevSecret();
  if (existing !== undefined) return { secret: existing, created: false };
  const secret = newSecret();
  await Deno.mkdir(DATA_DIR, { recursive: true });
  await Deno.writeTextFile(DEV_SECRET_FILE, `${secret}\n`, { mode: 0o600, createNew: true });
  return { secret, created: true };
}

/** Where the running `npm start` can be reached. */
export interface RunningServer {
  pid: number;
  /** The function's URL. */
  functionUrl: string;
  /** The embedded database's socket (postgres:// on 127.0.0.1); absent for other databases. */
  databaseUrl?: string;
}

/** What the running (or last, if it did not stop cleanly) `npm start` recorded. */
export async function readRunningServer(): Promise<RunningServer | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(SERVER_FILE)) as RunningServer;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Records where this `npm start` can be reached. */
export async function writeRunningServer(server: RunningServer): Promise<void> {
  await Deno.mkdir(DATA_DIR, { recursive: true });
  await Deno.writeTextFile(SERVER_FILE, `${JSON.stringify(server, null, 2)}\n`);
}

/** Forgets the running server, on a clean stop. */
export async function removeRunningServer(): Promise<void> {
  await Deno.remove(SERVER_FILE).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Whether something accepts TCP connections at the host and port of `url`. */
export async function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    const connection = await Deno.connect({ hostname, port: Number(port) });
    connection.close();
    return true;
  } catch {
    return false;
  }
}
