/** CPU time by process group: where an event's cost goes on a shared machine. */
import type postgres from "postgres";
import { cpuSeconds } from "./proc.ts";

/** CPU seconds so far of each process, by group. */
export type CpuSnapshot = Record<string, Map<number, number>>;

/**
 * The CPU time of the benchmark process, of the `servers` (pids by name) and of the
 * PostgreSQL client backends connected to the database of `sql` (but its own).
 */
export async function cpuSnapshot(
  sql: postgres.Sql,
  servers: Record<string, number>,
): Promise<CpuSnapshot> {
  const backends = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where datname = current_database() and backend_type = 'client backend'
      and pid <> pg_backend_pid()`;
  const groups: Record<string, number[]> = {
    benchmark: [Deno.pid],
    ...Object.fromEntries(Object.entries(servers).map(([name, pid]) => [name, [pid]])),
    postgres: backends.map(({ pid }) => pid),
  };
  const snapshot: CpuSnapshot = {};
  for (const [group, pids] of Object.entries(groups)) {
    snapshot[group] = new Map(
      await Promise.all(pids.map(async (pid) => [pid, await cpuSeconds(pid)] as const)),
    );
  }
  return snapshot;
}

/** CPU seconds each group used between two snapshots; processes new in `after` count from 0. */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [group, pids] of Object.entries(after)) {
    used[group] = 0;
    for (const [pid, seconds] of pids) used[group] += seconds - (before[group]?.get(pid) ?? 0);
  }
  return used;
}
