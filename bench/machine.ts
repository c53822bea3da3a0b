/** What the benchmark ran on, so that figures from different machines are not mixed up. */
import type postgres from "postgres";

/** The machine, the runtimes and how busy the machine was. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  deno: string;
  postgres: string;
  /** The 1-minute load average when the run started: above the CPU count, others competed. */
  loadAverageAtStart: number;
}

async function readProc(name: string): Promise<string> {
  return await Deno.readTextFile(`/proc/${name}`).catch(() => "");
}

/** The 1-minute load average: above the CPU count, processes waited for a CPU. */
export async function loadAverage(): Promise<number> {
  return Number((await readProc("loadavg")).split(" ")[0]);
}

/** Describes this machine and the PostgreSQL server behind `sql`. */
export async function describeMachine(sql: postgres.Sql): Promise<Machine> {
  const cpuinfo = await readProc("cpuinfo");
  const meminfo = await readProc("meminfo");
  const [row] = await sql`select current_setting('server_version') as version`;
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    memoryGiB: Number(meminfo.match(/^MemTotal:\s+(\d+) kB$/m)?.[1] ?? 0) / 1024 ** 2,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    postgres: String(row?.version),
    loadAverageAtStart: await loadAverage(),
  };
}
