/** The benchmark's figures: the ratios and goals derived from them, as markdown and as JSON. */
import type { BackfillResult } from "./backfill.ts";
import type { ColdStart } from "./cold_start.ts";
import type { Scenario } from "./events.ts";
import type { RateResult } from "./load.ts";
import type { Machine } from "./machine.ts";
import type { PhaseResults, Settings } from "./phases.ts";
import { GOALS } from "./targets.ts";

/** One contender's figures in a scenario; servers also have their memory and connections. */
export interface ContenderResult extends PhaseResults {
  /** Peak resident memory of the server process (VmHWM), in MB (10^6 bytes). */
  peakRssMb?: number;
  /** TCP connections the client opened to the server (keep-alive keeps it near the concurrency). */
  connections?: number;
}

/** The function (direct transport), its references, and the function over the Supabase client. */
export type ContenderKey =
  | "function"
  | "naive"
  | "ceiling"
  | "sqlFunction"
  | "httpFloor"
  | "supabase";

/** The figures of the contenders a scenario ran. */
export type Contenders = Partial<Record<ContenderKey, ContenderResult>>;

/** The latency figures of a rate phase. */
const FIGURES = ["p50", "p95", "p99", "max"] as const;
type Figure = typeof FIGURES[number];

/** Figures of the function divided by those of a reference. */
export interface Ratios {
  /** Events per second, by concurrency (above 1: the function is faster). */
  throughput: Record<string, number>;
  /** Latencies, by rate (above 1: the function is slower). */
  latency: Record<string, Record<Figure, number>>;
}

/** What one scenario ran and measured. */
export interface ScenarioReport {
  /** Open-loop rates, req/s (none in the burst). */
  rates: number[];
  /** Closed-loop concurrencies. */
  concurrencies: number[];
  contenders: Contenders;
  ratios: { functionToCeiling: Ratios; functionToNaive: Ratios };
}

/** The backfill's speed through each transport. */
export interface Backfills {
  direct: BackfillResult;
  supabase: BackfillResult;
}

/** The servers whose cold start is timed. */
export type ColdStartServer = "function" | "naive" | "supabase";

/** The cold starts of one server on one Deno. */
export interface ColdStartResult {
  server: ColdStartServer;
  /** The Deno, e.g. "Deno 2.9.6" or "Deno 2.1.4 (hosted edge runtime)". */
  runtime: string;
  coldStart: ColdStart;
}

/** The figures of the reference run that later runs must not lose. */
export interface PreviousRun {
  date: string;
  /** The function's p50 at 200 req/s, ms. */
  p50At200: number;
  /** The function's mean time per event with one in flight (1 / throughput), ms. */
  msAt1: number;
}

/** A goal of the direct transport: what was measured, the target, and whether it was met. */
export interface TargetResult {
  goal: string;
  value: number;
  /** Whether the value must be at least (≥) or at most (≤) the target. */
  comparison: "≥" | "≤";
  target: number;
  unit: string;
  met: boolean;
}

/** Everything one run measured. */
export interface Report {
  mode: "quick" | "full";
  date: string;
  command: string;
  seconds: number;
  machine: Machine;
  /** The 1-minute load average when the run ended (the benchmark's own load included). */
  loadAverageAtEnd: number;
  settings: Settings;
  scenarios: Record<Scenario, ScenarioReport>;
  backfill: Backfills;
  coldStarts: ColdStartResult[];
  /** The reference run (the last full quiet run of the earlier design), when its file is there. */
  previous: PreviousRun | null;
  targets: TargetResult[];
  /** Requests that failed (non-2xx or errors) in all contenders of all scenarios together. */
  failures: number;
}

/** How the tables name each contender. */
const LABELS: Record<ContenderKey, string> = {
  function: "function",
  naive: "naive handler",
  ceiling: "database ceiling",
  sqlFunction: "SQL function alone",
  httpFloor: "HTTP floor",
  supabase: "function via Supabase client",
};

/** The contenders of the direct transport, in the order of the tables. */
const DIRECT: ContenderKey[] = ["function", "naive", "ceiling", "sqlFunction", "httpFloor"];

function atRate(result: ContenderResult | undefined, rate: number): RateResult | undefined {
  return result?.rates.find((phase) => phase.rate === rate);
}

function atConcurrency(result: ContenderResult | undefined, concurrency: number) {
  return result?.concurrencies.find((phase) => phase.concurrency === concurrency);
}

function ratios(fn: ContenderResult | undefined, reference: ContenderResult | undefined): Ratios {
  const result: Ratios = { throughput: {}, latency: {} };
  if (fn === undefined || reference === undefined) return result;
  for (const phase of fn.concurrencies) {
    const other = atConcurrency(reference, phase.concurrency);
    if (other) result.throughput[phase.concurrency] = phase.eventsPerSecond / other.eventsPerSecond;
  }
  for (const phase of fn.rates) {
    const other = atRate(reference, phase.rate);
    if (other === undefined) continue;
    const entries = FIGURES.map((figure) => [figure, phase[figure] / other[figure]]);
    result.latency[phase.rate] = Object.fromEntries(entries) as Record<Figure, number>;
  }
  return result;
}

/** PostgreSQL's CPU time per event at `concurrency`, µs. */
function postgresCpu(result: ContenderResult | undefined, concurrency: number): number | undefined {
  return atConcurrency(result, concurrency)?.cpuMicrosPerEvent.postgres;
}

/** The median cold start of `server` on `runtime`, ms. */
function coldStartOf(
  coldStarts: readonly ColdStartResult[],
  server: ColdStartServer,
  runtime: string,
): number | undefined {
  return coldStarts.find((row) => row.server === server && row.runtime === runtime)?.coldStart
    .medianMs;
}

/** The Denos that cold starts ran on, in the order they ran. */
function runtimesOf(coldStarts: readonly ColdStartResult[]): string[] {
  return [...new Set(coldStarts.map((row) => row.runtime))];
}

/** "2026-12-02 11:38" */
function shortDate(date: string | undefined): string {
  return date?.slice(0, 16).replace("T", " ") ?? "–";
}

/** Every goal of the run, each measured, against its target. */
function goals(run: Omit<Report, "targets" | "failures">): TargetResult[] {
  const { scenarios, backfill, previous, coldStarts } = run;
  type Goal = [goal: string, value: number | undefined, target: number | undefined, unit: string];
  const atLeast: Goal[] = [];
  const atMost: Goal[] = [];
  for (const [name, scenario] of Object.entries(scenarios)) {
    for (const concurrency of GOALS.throughputToNaiveAt) {
      atLeast.push([
        `${name}: throughput at ${concurrency} in flight, function / naive handler`,
        scenario.ratios.functionToNaive.throughput[concurrency],
        GOALS.throughputToNaive,
        "×",
      ]);
    }
  }
  const mix = scenarios.mix;
  atLeast.push(
    [
      "mix: throughput at 16 in flight, function / database ceiling",
      mix.ratios.functionToCeiling.throughput[16],
      GOALS.mixThroughputToCeiling,
      "×",
    ],
    ["backfill, direct", backfill.direct.usersPerSecond, GOALS.backfillDirect, "users/s"],
  );
  for (const [name, scenario] of Object.entries(scenarios)) {
    atMost.push([
      `${name}: PostgreSQL CPU per event at ${GOALS.postgresCpuAt} in flight (target: naive's)`,
      postgresCpu(scenario.contenders.function, GOALS.postgresCpuAt),
      postgresCpu(scenario.contenders.naive, GOALS.postgresCpuAt),
      "µs",
    ]);
  }
  const atOne = atConcurrency(mix.contenders.function, 1)?.eventsPerSecond;
  atMost.push(
    [
      `mix: p50 at 200 req/s (target: the run of ${shortDate(previous?.date)})`,
      atRate(mix.contenders.function, 200)?.p50,
      previous?.p50At200,
      "ms",
    ],
    [
      `mix: mean time per event at 1 in flight (target: the run of ${shortDate(previous?.date)})`,
      atOne === undefined ? undefined : 1000 / atOne,
      previous?.msAt1,
      "ms",
    ],
  );
  for (const runtime of runtimesOf(coldStarts)) {
    const naive = coldStartOf(coldStarts, "naive", runtime);
    atMost.push([
      `cold start on ${runtime}, median (target: ${GOALS.coldStartToNaive} × naive's)`,
      coldStartOf(coldStarts, "function", runtime),
      naive === undefined ? undefined : naive * GOALS.coldStartToNaive,
      "ms",
    ]);
  }
  const finite = (value: number | undefined): value is number =>
    value !== undefined && Number.isFinite(value);
  const check = (goals: Goal[], comparison: "≥" | "≤") =>
    goals.flatMap(([goal, value, target, unit]) =>
      finite(value) && finite(target)
        ? [{
          goal,
          value,
          comparison,
          target,
          unit,
          met: comparison === "≥" ? value >= target : value <= target,
        }]
        : []
    );
  return [...check(atLeast, "≥"), ...check(atMost, "≤")];
}

/**
 * The figures of the full run saved as `file` (of this design, or of the earlier one
 * with a single scenario), or null when there is none.
 */
export async function previousRun(file: URL): Promise<PreviousRun | null> {
  let report: {
    date: string;
    scenarios?: { mix: { contenders: Contenders } };
    contenders?: Contenders;
  };
  try {
    report = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const fn = (report.scenarios?.mix.contenders ?? report.contenders)?.function;
  const p50At200 = atRate(fn, 200)?.p50;
  const atOne = atConcurrency(fn, 1)?.eventsPerSecond;
  if (p50At200 === undefined || atOne === undefined) return null;
  return { date: report.date, p50At200, msAt1: 1000 / atOne };
}

/** What a scenario measured, before the ratios. */
export type MeasuredScenario = Omit<ScenarioReport, "ratios">;

/** Derives the ratios, goals and failure count of a run. */
export function buildReport(
  run: Omit<Report, "scenarios" | "targets" | "failures"> & {
    scenarios: Record<Scenario, MeasuredScenario>;
  },
): Report {
  const scenarios = Object.fromEntries(
    Object.entries(run.scenarios).map(([name, scenario]) => {
      const { contenders } = scenario;
      return [name, {
        ...scenario,
        ratios: {
          functionToCeiling: ratios(contenders.function, contenders.ceiling),
          functionToNaive: ratios(contenders.function, contenders.naive),
        },
      }];
    }),
  ) as Record<Scenario, ScenarioReport>;
  const withRatios = { ...run, scenarios };
  const failures = Object.values(scenarios)
    .flatMap((scenario) => Object.values(scenario.contenders))
    .reduce((sum, result) => sum + result.failures, 0);
  return { ...withRatios, targets: goals(withRatios), failures };
}

function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value < 10 ? value.toFixed(2) : value.toFixed(value < 100 ? 1 : 0);
}

/** A goal's figure: two decimals below 10, whole above. */
function figure(value: number): string {
  return value < 10 ? value.toFixed(2) : Math.round(value).toString();
}

function times(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(2);
}

function whole(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : Math.round(value).toString();
}

/** A markdown table; the first `labels` columns are left-aligned, the figures right-aligned. */
function table(header: string[], rows: string[][], labels = 1): string {
  const align = header.map((_, index) => (index < labels ? "---" : "--:"));
  return [header, align, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** The keys of `keys` that `scenario` ran. */
function ran(scenario: ScenarioReport, keys: ContenderKey[]): ContenderKey[] {
  return keys.filter((key) => scenario.contenders[key] !== undefined);
}

function latencyTable(scenario: ScenarioReport, keys: ContenderKey[], withRatios: boolean): string {
  const header = ["rate", "", ...keys.map((key) => LABELS[key])];
  if (withRatios) header.push("function / ceiling", "function / naive");
  const { functionToCeiling, functionToNaive } = scenario.ratios;
  const rows = scenario.rates.flatMap((rate) =>
    FIGURES.map((figure) => [
      figure === "p50" ? `${rate} req/s` : "",
      figure,
      ...keys.map((key) => ms(atRate(scenario.contenders[key], rate)?.[figure])),
      ...(withRatios
        ? [
          times(functionToCeiling.latency[rate]?.[figure]),
          times(functionToNaive.latency[rate]?.[figure]),
        ]
        : []),
    ])
  );
  return table(header, rows, 2);
}

function throughputTable(
  scenario: ScenarioReport,
  keys: ContenderKey[],
  withRatios: boolean,
): string {
  const header = ["concurrency", ...keys.map((key) => LABELS[key])];
  if (withRatios) header.push("function / ceiling", "function / naive");
  const { functionToCeiling, functionToNaive } = scenario.ratios;
  const rows = scenario.concurrencies.map((concurrency) => [
    String(concurrency),
    ...keys.map((key) =>
      whole(atConcurrency(scenario.contenders[key], concurrency)?.eventsPerSecond)
    ),
    ...(withRatios
      ? [
        times(functionToCeiling.throughput[concurrency]),
        times(functionToNaive.throughput[concurrency]),
      ]
      : []),
  ]);
  return table(header, rows);
}

/** CPU time per event of each process group, at `concurrency`. */
function cpuTable(scenario: ScenarioReport, keys: ContenderKey[], concurrency: number): string {
  const usage = keys.map((key) =>
    atConcurrency(scenario.contenders[key], concurrency)?.cpuMicrosPerEvent ?? {}
  );
  const groups = [...new Set(usage.flatMap((perGroup) => Object.keys(perGroup)))];
  const rows = [
    ...groups.map((group) => [
      group === "benchmark" ? "benchmark process (client)" : group,
      ...usage.map((perGroup) => whole(perGroup[group])),
    ]),
    [
      "**total**",
      ...usage.map((perGroup) =>
        `**${whole(Object.values(perGroup).reduce((sum, us) => sum + us, 0))}**`
      ),
    ],
  ];
  return `CPU time per event at concurrency ${concurrency}, µs (2 cores give 2,000,000 µs/s):\n\n` +
    table(["process", ...keys.map((key) => LABELS[key])], rows);
}

/** The CPU tables at 16 in flight (or the highest run), or at each concurrency when `all`. */
function cpuTables(scenario: ScenarioReport, keys: ContenderKey[], all = false): string[] {
  const { concurrencies } = scenario;
  const shown = all
    ? concurrencies
    : [concurrencies.includes(16) ? 16 : Math.max(...concurrencies)];
  return shown.map((concurrency) => cpuTable(scenario, keys, concurrency));
}

/** Cold starts by Deno, and each server's memory and connections in the mix scenario. */
function processTables(report: Report): string[] {
  const servers: ColdStartServer[] = ["function", "naive", "supabase"];
  const runtimes = runtimesOf(report.coldStarts);
  const coldStarts = table(
    [
      `cold start, median of ${report.settings.coldStarts} (ms)`,
      ...servers.map((key) => LABELS[key]),
      "function / naive",
    ],
    runtimes.map((runtime) => {
      const fn = coldStartOf(report.coldStarts, "function", runtime);
      const naive = coldStartOf(report.coldStarts, "naive", runtime);
      return [
        runtime,
        ...servers.map((server) => ms(coldStartOf(report.coldStarts, server, runtime))),
        times(fn !== undefined && naive !== undefined ? fn / naive : undefined),
      ];
    }),
  );
  const shown = servers.map((key) => report.scenarios.mix.contenders[key]);
  const memory = table(
    ["mix scenario", ...servers.map((key) => LABELS[key])],
    [
      ["peak RSS (MB)", ...shown.map((result) => whole(result?.peakRssMb))],
      ["HTTP connections opened", ...shown.map((result) => whole(result?.connections))],
    ],
  );
  return [coldStarts, memory];
}

/** The goals: goal | measured | target (≥ or ≤) | met. */
function goalsTable(report: Report): string {
  return table(
    ["goal", "measured", "target", "met"],
    report.targets.map(({ goal, value, comparison, target, unit, met }) => [
      goal,
      `${figure(value)} ${unit}`,
      `${comparison} ${figure(target)} ${unit}`,
      met ? "yes" : "**no**",
    ]),
  );
}

/** The report as markdown: the machine, then each scenario's tables, then the goals. */
export function renderMarkdown(report: Report): string {
  const { machine, settings, scenarios } = report;
  const { mix, burst } = scenarios;
  const burstKeys = ran(burst, ["function", "naive", "ceiling", "supabase"]);
  const sections = [
    `## Benchmark (${report.mode}), ${report.date}`,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB.toFixed(1)} GiB, ` +
    `Linux ${machine.kernel}; Deno ${machine.deno}; PostgreSQL ${machine.postgres}; ` +
    `load average ${machine.loadAverageAtStart.toFixed(2)} at the start, ` +
    `${report.loadAverageAtEnd.toFixed(2)} at the end.\n` +
    `Command: \`${report.command}\` (${report.seconds.toFixed(0)} s). The naive handler is the ` +
    `seed's design on its own Prisma-shaped \`User\` table. Each rate runs ` +
    `${settings.rateSeconds} s (open loop), each concurrency ${settings.concurrencySeconds} s ` +
    `(closed loop).`,
    "### Scenario `mix`: 50% `user.created`, 40% `user.updated`, 10% `user.deleted`, one per user",
    "#### Latency at a fixed rate, ms",
    latencyTable(mix, ran(mix, DIRECT.filter((key) => key !== "httpFloor")), true),
    "#### Throughput at a fixed concurrency, events/s",
    throughputTable(mix, ran(mix, DIRECT), true),
    ...cpuTables(mix, ran(mix, DIRECT)),
    "#### Supabase transport (function → supabase-js → API gateway stand-in → PostgREST → PostgreSQL)",
    "PostgREST 12.0.2 from npm, configured as the Supabase CLI configures it; the gateway " +
    "stand-in (Deno, its own process) does Kong's job for the API keys.",
    latencyTable(mix, ran(mix, ["supabase"]), false),
    throughputTable(mix, ran(mix, ["supabase"]), false),
    ...cpuTables(mix, ran(mix, ["supabase"])),
    "### Scenario `burst`: only `user.created`, distinct new users with an email",
    "The database ceiling here is a plain `insert` into public.users per event.",
    "#### Throughput at a fixed concurrency, events/s",
    throughputTable(burst, burstKeys, true),
    ...cpuTables(burst, burstKeys, true),
    "### Start and memory",
    ...processTables(report),
    "### Backfill (users from a Clerk API stand-in in another process)",
    table(
      ["transport", "users", "seconds", "users/s"],
      (["direct", "supabase"] as const).map((key) => {
        const { users, seconds, usersPerSecond } = report.backfill[key];
        return [
          key === "direct" ? "direct" : "supabase-js",
          whole(users),
          seconds.toFixed(2),
          whole(usersPerSecond),
        ];
      }),
    ),
    "### Goals",
    "The function, direct transport; supabase-js is reported above, not targeted.",
    goalsTable(report),
  ];
  if (report.failures > 0) sections.push(`**${report.failures} requests failed.**`);
  return sections.join("\n\n") + "\n";
}

/**
 * Writes `report` as JSON to `directory`/<date>-<mode>.json and, for a full run, to
 * latest.json; returns the dated file's path.
 */
export async function saveReport(report: Report, directory: URL): Promise<string> {
  await Deno.mkdir(directory, { recursive: true });
  const json = JSON.stringify(report, null, 2) + "\n";
  const name = `${report.date.replaceAll(":", "-").replace(/\.\d+Z$/, "Z")}-${report.mode}.json`;
  const file = new URL(name, directory);
  await Deno.writeTextFile(file, json);
  if (report.mode === "full") await Deno.writeTextFile(new URL("latest.json", directory), json);
  return file.pathname;
}
