/** What Linux's /proc tells about the benchmarked processes. */

/** The peak resident set size of process `pid` (VmHWM), in bytes. */
export async function peakRssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = status.match(/^VmHWM:\s+(\d+) kB$/m)?.[1];
  if (kib === undefined) throw new Error(`No VmHWM in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/**
 * How many TCP connections were made to local `port` and are still open or in
 * TIME_WAIT: with HTTP keep-alive, about the client's concurrency, not its request count.
 */
export async function connectionsToPort(port: number): Promise<number> {
  const clients = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (local === undefined || remote === undefined || state === "0A") continue;
      const localPort = parseInt(local.split(":").at(-1)!, 16);
      const remotePort = parseInt(remote.split(":").at(-1)!, 16);
      // Each connection appears once or twice (client and server side): key it by the client's port.
      if (localPort === port) clients.add(remote);
      else if (remotePort === port) clients.add(local);
    }
  }
  return clients.size;
}

/** Linux reports CPU times in clock ticks of 1/100 s (USER_HZ) on x86-64 and arm64. */
const TICKS_PER_SECOND = 100;

/** CPU time (user and system) process `pid` has used so far, in seconds; 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => undefined);
  if (stat === undefined) return 0;
  // Fields after the command name, which may hold spaces: state is first, utime 12th, stime 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
