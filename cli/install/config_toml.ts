/**
 * What the install reads and writes in a Supabase project's `supabase/config.toml`: the
 * function's section, `[functions.clerk-webhook]` with `verify_jwt = false` (Clerk sends a
 * Svix signature, not a Supabase JWT), added as text at the end of the file, so comments,
 * order and every other section stay as they are (the result is checked by parsing it);
 * `[auth.third_party.clerk]`, which lets Clerk's session tokens into the local stack's Data
 * API, added the same way when the Clerk domain is given; and `[db.migrations]
 * schema_paths`, only read.
 */
import { parse } from "smol-toml";

/** The config file's path in the project. */
export const CONFIG_PATH = "supabase/config.toml";

/** What the file has for the function. */
export type FunctionSection =
  | { state: "absent" }
  | { state: "ready"; line: number | undefined }
  | { state: "conflict"; line: number | undefined; problem: string };

const SECTION = `[functions.clerk-webhook]
# Clerk signs its webhooks with Svix and sends no Supabase JWT: the gateway's JWT check
# would answer 401 before the function runs. Added by clerk-webhook-sync.
verify_jwt = false
`;

/** The line (1-based) of the function's table header, if written as one. */
function headerLine(text: string): number | undefined {
  const index = text.split("\n").findIndex((line) =>
    /^\s*\[\s*functions\s*\.\s*("clerk-webhook"|'clerk-webhook'|clerk-webhook)\s*\]/.test(line)
  );
  return index === -1 ? undefined : index + 1;
}

/** Reads the function's section of `text`; throws a SyntaxError when it is not valid TOML. */
export function readFunctionSection(text: string): FunctionSection {
  const config = parse(text) as { functions?: Record<string, Record<string, unknown>> };
  const section = config.functions?.["clerk-webhook"];
  if (section === undefined) return { state: "absent" };
  const line = headerLine(text);
  if (section.verify_jwt !== false) {
    return { state: "conflict", line, problem: "set verify_jwt = false" };
  }
  for (const key of ["import_map", "entrypoint"]) {
    if (key in section) {
      return {
        state: "conflict",
        line,
        problem: `remove ${key}: the CLI finds the function's index.ts and deno.json in its folder`,
      };
    }
  }
  return { state: "ready", line };
}

/** `text` with the function's section appended; throws when the result is not valid TOML. */
export function addFunctionSection(text: string): string {
  const separator = text === "" ? "" : text.endsWith("\n") ? "\n" : "\n\n";
  const result = `${text}${separator}${SECTION}`;
  if (readFunctionSection(result).state !== "ready") {
    throw new Error(`Cannot add [functions.clerk-webhook] to ${CONFIG_PATH}`);
  }
  return result;
}

/**
 * `[db.migrations] schema_paths` of `text` (undefined when unset); throws a SyntaxError
 * when it is not valid TOML, or a TypeError when the setting is not a list of strings.
 */
export function readSchemaPaths(text: string): string[] | undefined {
  const config = parse(text) as { db?: { migrations?: { schema_paths?: unknown } } };
  const paths = config.db?.migrations?.schema_paths;
  if (paths === undefined) return undefined;
  if (!Array.isArray(paths) || paths.some((path) => typeof path !== "string")) {
    throw new TypeError(
      "sets [db.migrations] schema_paths to something other than a list of paths: make it one " +
        '(e.g. schema_paths = ["./schemas/*.sql"]) or remove it',
    );
  }
  return paths as string[];
}

/**
 * What the Supabase CLI accepts as a Clerk domain (supabase/cli, pkg/config/config.go,
 * clerkDomainPattern): the instance's Frontend API host.
 */
export const CLERK_DOMAIN = /^(clerk([.][a-z0-9-]+){2,}|([a-z0-9-]+[.])+clerk[.]accounts[.]dev)$/;

/** `[auth.third_party.clerk]` of `text`, if set; throws a SyntaxError on invalid TOML. */
export function readClerkAuth(text: string): { enabled: unknown; domain: unknown } | undefined {
  const config = parse(text) as {
    auth?: { third_party?: { clerk?: { enabled?: unknown; domain?: unknown } } };
  };
  const clerk = config.auth?.third_party?.clerk;
  return clerk === undefined ? undefined : { enabled: clerk.enabled, domain: clerk.domain };
}

/**
 * `text` with `[auth.third_party.clerk]` enabled for `domain`, so that the local stack's
 * Data API takes the instance's session tokens: the table `supabase init` writes (disabled)
 * gets `enabled = true` and the domain in place, its comments kept; a file without it
 * gets it appended. Throws when the result is not valid TOML.
 */
export function enableClerkAuth(text: string, domain: string): string {
  const settings = [
    "# Clerk's session tokens reach the Data API as the signed-in user (the role claim",
    '# "authenticated"); RLS decides what they read. Set by clerk-webhook-sync.',
    "enabled = true",
    `domain = ${JSON.stringify(domain)}`,
  ];
  const lines = text.split("\n");
  const start = lines.findIndex((line) =>
    /^\s*\[\s*auth\s*\.\s*third_party\s*\.\s*clerk\s*\]/.test(line)
  );
  let result: string;
  if (start < 0) {
    const separator = text === "" ? "" : text.endsWith("\n") ? "\n" : "\n\n";
    result = `${text}${separator}[auth.third_party.clerk]\n${settings.join("\n")}\n`;
  } else {
    const next = lines.findIndex((line, index) => index > start && /^\s*\[/.test(line));
    const end = next < 0 ? lines.length : next;
    const kept = lines.slice(start + 1, end).filter((line) =>
      !/^\s*(enabled|domain)\s*=/.test(line)
    );
    result = [...lines.slice(0, start + 1), ...settings, ...kept, ...lines.slice(end)].join("\n");
  }
  const clerk = readClerkAuth(result);
  if (clerk?.enabled !== true || clerk.domain !== domain) {
    throw new Error(`Cannot enable [auth.third_party.clerk] in ${CONFIG_PATH}`);
  }
  return result;
}
