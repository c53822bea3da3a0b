/** The start every command shares: its arguments, or the usage and an exit status. */

/**
 * Parses `args` with `parse`. Prints `usage` and answers the exit status to end with:
 * 0 for `--help`, 2 (after the error) when `parse` throws; otherwise the arguments.
 */
export function commandLine<T extends { help: boolean }>(
  parse: (args: string[]) => T,
  usage: string,
  args: string[] = Deno.args,
): T | number {
  let parsed: T;
  try {
    parsed = parse(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (parsed.help) {
    console.log(usage);
    return 0;
  }
  return parsed;
}
