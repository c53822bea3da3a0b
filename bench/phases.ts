/** The run: a warm-up, then every rate and concurrency phase, for every contender. */
import type postgres from "postgres";
import { cpuSnapshot, cpuUsed } from "./cpu_time.ts";
import { prepareEvents, type Scenario } from "./events.ts";
import {
  type ConcurrencyResult,
  concurrencyResult,
  type ConcurrencySlice,
  mergeTallies,
  type RateResult,
  rateResult,
  runAtConcurrency,
  runAtRate,
  type Tally,
} from "./load.ts";
import { emptyNaiveTable } from "./naive_table.ts";
import type { Target } from "./targets.ts";

/** The shape of a run; `--quick` shortens it. */
export interface Settings {
  /** Open-loop rates, requests per second (the mix scenario). */
  rates: number[];
  rateSeconds: number;
  /** Closed-loop concurrencies (the mix scenario). */
  concurrencies: number[];
  /** Closed-loop concurrencies of the burst scenario (it has no open-loop phase). */
  burstConcurrencies: number[];
  concurrencySeconds: number;
  /**
   * Each phase runs as this many slices, the contenders taking turns, so that whatever
   * else the machine does at some moment hits them alike.
   */
  slices: number;
  /** Events prepared per second of a closed-loop slice until a throughput is known. */
  eventsPerSecondBound: number;
  warmUpSeconds: number;
  /** Process starts per cold-start measurement. */
  coldStarts: number;
  /** Users in the Clerk API stand-in for the backfill runs. */
  backfillUsers: number;
}

/** A contender: how it receives events, and the processes that serve it. */
export interface Contender<Name extends string = string> {
  name: Name;
  target: Target;
  /** Server processes whose CPU time is counted, pids by name. */
  servers?: Record<string, number>;
  /** Runs the closed-loop phases only. */
  throughputOnly?: boolean;
}

/** Throughput, and the CPU time each process spent per event, in microseconds. */
export interface ConcurrencyPhase extends ConcurrencyResult {
  cpuMicrosPerEvent: Record<string, number>;
}

/** A contender's latency and throughput figures, and every answer it gave. */
export interface PhaseResults extends Tally {
  rates: RateResult[];
  concurrencies: ConcurrencyPhase[];
}

/** Closed-loop slices get this multiple of the best throughput so far in events. */
const THROUGHPUT_HEADROOM = 2.5;

/** `list` rotated left by `shift`, so that no contender always runs first. */
function rotate<T>(list: T[], shift: number): T[] {
  const start = shift % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

function failed(tally: Tally): string {
  return tally.failures ? `, ${tally.failures} failed` : "";
}

/** The rates and concurrencies a scenario runs. */
export function scenarioPhases(
  scenario: Scenario,
  settings: Settings,
): { rates: number[]; concurrencies: number[] } {
  return scenario === "mix"
    ? { rates: settings.rates, concurrencies: settings.concurrencies }
    : { rates: [], concurrencies: settings.burstConcurrencies };
}

/**
 * Runs every phase of `scenario` for every contender, interleaved: each phase in
 * slices, the contenders taking turns in a rotating order. Each slice's events are
 * prepared, seeded and signed just before it. `sql` is an owner connection; the sync's
 * tables and the naive handler's are emptied first. Returns the figures by contender
 * name.
 */
export async function runPhases<Name extends string>(
  sql: postgres.Sql,
  scenario: Scenario,
  contenders: Contender<Name>[],
  settings: Settings,
  progress: (message: string) => void,
): Promise<Record<Name, PhaseResults>> {
  const { rates, concurrencies } = scenarioPhases(scenario, settings);
  await sql`truncate public.users, public.users_private, clerk_sync.deliveries, clerk_sync.tombstones`;
  await emptyNaiveTable(sql);
  const results = new Map(contenders.map((contender) => [contender, {
    rates: [] as RateResult[],
    concurrencies: [] as ConcurrencyPhase[],
    tallies: [] as Tally[],
    // More events than a closed loop can send: concurrency never multiplies the best
    // throughput so far by that much on this scale. Running out only shortens a slice.
    best: settings.eventsPerSecondBound / THROUGHPUT_HEADROOM,
  }]));
  const of = (contender: Contender<Name>) => results.get(contender)!;
  const closedLoopEvents = (contender: Contender<Name>, seconds: number) =>
    Math.ceil(seconds * of(contender).best * THROUGHPUT_HEADROOM);

  let round = 0;
  /** Runs `slice` `settings.slices` times for each of `list`, taking turns. */
  async function inTurns<T>(
    list: Contender<Name>[],
    slice: (contender: Contender<Name>) => Promise<T>,
  ): Promise<Map<Contender<Name>, T[]>> {
    const slices = new Map(list.map((contender) => [contender, [] as T[]]));
    for (let turn = 0; turn < settings.slices; turn++) {
      for (const contender of rotate(list, round++)) {
        slices.get(contender)!.push(await slice(contender));
      }
    }
    return slices;
  }

  progress(`Scenario ${scenario}: warming up`);
  for (const contender of contenders) {
    const count = closedLoopEvents(contender, settings.warmUpSeconds);
    const warmUp = await runAtConcurrency(
      contender.target(await prepareEvents(sql, count, scenario)),
      count,
      {
        concurrency: 4,
        seconds: settings.warmUpSeconds,
      },
    );
    of(contender).tallies.push(warmUp);
    of(contender).best = Math.max(of(contender).best, warmUp.completed / warmUp.seconds);
  }

  const timed = contenders.filter((contender) => !contender.throughputOnly);
  for (const rate of rates) {
    progress(`${rate} req/s (open loop)`);
    const count = Math.round((rate * settings.rateSeconds) / settings.slices);
    const slices = await inTurns(
      timed,
      async ({ target }) =>
        await runAtRate(target(await prepareEvents(sql, count, scenario)), count, rate),
    );
    for (const [contender, ofContender] of slices) {
      const result = rateResult(rate, ofContender);
      of(contender).rates.push(result);
      of(contender).tallies.push(result);
      progress(
        `  ${contender.name}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms` +
          failed(result),
      );
    }
  }

  const seconds = settings.concurrencySeconds / settings.slices;
  for (const concurrency of concurrencies) {
    progress(`concurrency ${concurrency} (closed loop)`);
    const slices = await inTurns(contenders, async (contender) => {
      const count = closedLoopEvents(contender, seconds);
      const send = contender.target(await prepareEvents(sql, count, scenario));
      const before = await cpuSnapshot(sql, contender.servers ?? {});
      const slice: ConcurrencySlice = await runAtConcurrency(send, count, { concurrency, seconds });
      return { slice, cpu: cpuUsed(before, await cpuSnapshot(sql, contender.servers ?? {})) };
    });
    for (const [contender, ofContender] of slices) {
      const result = concurrencyResult(concurrency, ofContender.map(({ slice }) => slice));
      const cpuMicrosPerEvent: Record<string, number> = {};
      for (const { cpu } of ofContender) {
        for (const [group, used] of Object.entries(cpu)) {
          cpuMicrosPerEvent[group] = (cpuMicrosPerEvent[group] ?? 0) +
            (used * 1e6) / result.completed;
        }
      }
      of(contender).concurrencies.push({ ...result, cpuMicrosPerEvent });
      of(contender).tallies.push(result);
      of(contender).best = Math.max(of(contender).best, result.eventsPerSecond);
      progress(
        `  ${contender.name}: ${result.eventsPerSecond.toFixed(0)} events/s, CPU µs/event ` +
          Object.entries(cpuMicrosPerEvent).map(([group, us]) => `${group} ${us.toFixed(0)}`)
            .join(", ") +
          failed(result),
      );
    }
  }

  return Object.fromEntries(contenders.map((contender) => {
    const { rates, concurrencies, tallies } = of(contender);
    return [contender.name, { rates, concurrencies, ...mergeTallies(tallies) }];
  })) as Record<Name, PhaseResults>;
}
