/** Running a command of this repository as its own Deno process, as its npm script does. */
import { CACHED_ONLY } from "../../dev/function_process.ts";

/** How a command ended and what it printed. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run <args>` (this Deno, reading npm packages from its cache only, as every
 * process of the tests does: dev/function_process.ts) with exactly `env` (and NO_COLOR),
 * in `cwd`, and collects its exit code and output.
 */
export async function runDeno(
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<CommandResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", CACHED_ONLY, ...args],
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
