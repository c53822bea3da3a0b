/** The benchmark's figures: the ratios and targets derived from them, as markdown and as JSON. */
import type { BackfillResult } from "./backfill.ts";
import type { ColdStart } from "./cold_start.ts";
import type { RateResult } from "./load.ts";
import type { Machine } from "./machine.ts";
import type { PhaseResults, Settings } from "./phases.ts";

/** One contender's figures; servers also have their memory and connections. */
export interface ContenderResult extends PhaseResults {
  /** Peak resident memory of the server process (VmHWM), in MB (10^6 bytes). */
  peakRssMb?: number;
  /** TCP connections the client opened to the server (keep-alive keeps it near the concurrency). */
  connections?: number;
  coldStart?: ColdStart;
}

/** The function (direct transport), its references, and the function over the Supabase client. */
export type ContenderKey =
  | "function"
  | "naive"
  | "ceiling"
  | "sqlFunction"
  | "httpFloor"
  | "supabase";

/** Every contender's figures. */
export type Contenders = Record<ContenderKey, ContenderResult>;

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

/** The backfill's speed through each transport. */
export interface Backfills {
  direct: BackfillResult;
  supabase: BackfillResult;
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
  contenders: Contenders;
  backfill: Backfills;
  /** The reference run (the last before group commit), when its file is there. */
  previous: PreviousRun | null;
  ratios: { functionToCeiling: Ratios; functionToNaive: Ratios };
  targets: TargetResult[];
  /** Requests that failed (non-2xx or errors) in all contenders together. */
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

function atRate(result: ContenderResult, rate: number): RateResult | undefined {
  return result.rates.find((phase) => phase.rate === rate);
}

function atConcurrency(result: ContenderResult, concurrency: number) {
  return result.concurrencies.find((phase) => phase.concurrency === concurrency);
}

function ratios(fn: ContenderResult, reference: ContenderResult): Ratios {
  const result: Ratios = { throughput: {}, latency: {} };
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
function postgresCpu(result: ContenderResult, concurrency: number): number | undefined {
  return atConcurrency(result, concurrency)?.cpuMicrosPerEvent.postgres;
}

function targets(
  run: Pick<Report, "contenders" | "backfill" | "previous">,
  ratiosOfFunction: Report["ratios"],
): TargetResult[] {
  const { contenders, backfill, previous } = run;
  const fn = contenders.function;
  const naive = contenders.naive;
  const atOne = atConcurrency(fn, 1)?.eventsPerSecond;
  type Goal = [goal: string, value: number | undefined, target: number | undefined, unit: string];
  const atLeast: Goal[] = [
    [
      "throughput at 16 in flight / naive handler",
      ratiosOfFunction.functionToNaive.throughput[16],
      1,
      "×",
    ],
    [
      "throughput at 64 in flight / naive handler",
      ratiosOfFunction.functionToNaive.throughput[64],
      1,
      "×",
    ],
    [
      "throughput at 16 in flight / database ceiling",
      ratiosOfFunction.functionToCeiling.throughput[16],
      0.5,
      "×",
    ],
    ["backfill, direct", backfill.direct.usersPerSecond, 10_000, "users/s"],
    ["backfill, supabase-js", backfill.supabase.usersPerSecond, 2_000, "users/s"],
  ];
  const atMost: Goal[] = [
    [
      "PostgreSQL CPU per event at 16 in flight (target: naive's)",
      postgresCpu(fn, 16),
      postgresCpu(naive, 16),
      "µs",
    ],
    [
      `p50 at 200 req/s (target: the run of ${previous?.date.slice(0, 16).replace("T", " ")})`,
      atRate(fn, 200)?.p50,
      previous?.p50At200,
      "ms",
    ],
    [
      `time per event at 1 in flight (target: the run of ${
        previous?.date.slice(0, 16).replace("T", " ")
      })`,
      atOne === undefined ? undefined : 1000 / atOne,
      previous?.msAt1,
      "ms",
    ],
    [
      "cold start, median (target: 1.2 × naive's)",
      fn.coldStart?.medianMs,
      naive.coldStart && naive.coldStart.medianMs * 1.2,
      "ms",
    ],
  ];
  const finite = (value: number | undefined): value is number =>
    value !== undefined && Number.isFinite(value);
  const check = (goals: Goal[], met: (value: number, target: number) => boolean) =>
    goals.flatMap(([goal, value, target, unit]) =>
      finite(value) && finite(target)
        ? [{ goal, value, target, unit, met: met(value, target) }]
        : []
    );
  return [...check(atLeast, (v, t) => v >= t), ...check(atMost, (v, t) => v <= t)];
}

/** The figures of the full run saved as `file`, or null when there is none. */
export async function previousRun(file: URL): Promise<PreviousRun | null> {
  let report: Report;
  try {
    report = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const fn = report.contenders.function;
  const p50At200 = atRate(fn, 200)?.p50;
  const atOne = atConcurrency(fn, 1)?.eventsPerSecond;
  if (p50At200 === undefined || atOne === undefined) return null;
  return { date: report.date, p50At200, msAt1: 1000 / atOne };
}

/** Derives the ratios, targets and failure count of a run. */
export function buildReport(run: Omit<Report, "ratios" | "targets" | "failures">): Report {
  const { contenders } = run;
  const ratiosOfFunction = {
    functionToCeiling: ratios(contenders.function, contenders.ceiling),
    functionToNaive: ratios(contenders.function, contenders.naive),
  };
  return {
    ...run,
    ratios: ratiosOfFunction,
    targets: targets(run, ratiosOfFunction),
    failures: Object.values(contenders).reduce((sum, result) => sum + result.failures, 0),
  };
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

function latencyTable(report: Report, keys: ContenderKey[], withRatios: boolean): string {
  const header = ["rate", "", ...keys.map((key) => LABELS[key])];
  if (withRatios) header.push("function / ceiling", "function / naive");
  const { functionToCeiling, functionToNaive } = report.ratios;
  const rows = report.settings.rates.flatMap((rate) =>
    FIGURES.map((figure) => [
      figure === "p50" ? `${rate} req/s` : "",
      figure,
      ...keys.map((key) => ms(atRate(report.contenders[key], rate)?.[figure])),
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

function throughputTable(report: Report, keys: ContenderKey[], withRatios: boolean): string {
  const header = ["concurrency", ...keys.map((key) => LABELS[key])];
  if (withRatios) header.push("function / ceiling", "function / naive");
  const { functionToCeiling, functionToNaive } = report.ratios;
  const rows = report.settings.concurrencies.map((concurrency) => [
    String(concurrency),
    ...keys.map((key) =>
      whole(atConcurrency(report.contenders[key], concurrency)?.eventsPerSecond)
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

/** CPU time per event of each process group, at concurrency 16 (or the highest run). */
function cpuTable(report: Report, keys: ContenderKey[]): string {
  const { concurrencies } = report.settings;
  const concurrency = concurrencies.includes(16) ? 16 : Math.max(...concurrencies);
  const usage = keys.map((key) =>
    atConcurrency(report.contenders[key], concurrency)?.cpuMicrosPerEvent ?? {}
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

function processTable(report: Report, keys: ContenderKey[]): string {
  const shown = keys.map((key) => report.contenders[key]);
  const rows = [
    [
      `cold start, median of ${report.settings.coldStarts} (ms)`,
      ...shown.map((result) => ms(result.coldStart?.medianMs)),
    ],
    ["peak RSS (MB)", ...shown.map((result) => whole(result.peakRssMb))],
    ["HTTP connections opened", ...shown.map((result) => whole(result.connections))],
  ];
  return table(["", ...keys.map((key) => LABELS[key])], rows);
}

/** The report as markdown: the machine, then one table per kind of figure. */
export function renderMarkdown(report: Report): string {
  const { machine, settings } = report;
  const sections = [
    `## Benchmark (${report.mode}), ${report.date}`,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB.toFixed(1)} GiB, ` +
    `Linux ${machine.kernel}; Deno ${machine.deno}; PostgreSQL ${machine.postgres}; ` +
    `load average ${machine.loadAverageAtStart.toFixed(2)} at the start, ` +
    `${report.loadAverageAtEnd.toFixed(2)} at the end.\n` +
    `Command: \`${report.command}\` (${report.seconds.toFixed(0)} s). Each rate runs ` +
    `${settings.rateSeconds} s (open loop), each concurrency ${settings.concurrencySeconds} s ` +
    `(closed loop), on distinct events: 50% \`user.created\`, 40% \`user.updated\`, ` +
    `10% \`user.deleted\`, one per user.`,
    "### Latency at a fixed rate, ms",
    latencyTable(report, DIRECT.filter((key) => key !== "httpFloor"), true),
    "### Throughput at a fixed concurrency, events/s",
    throughputTable(report, DIRECT, true),
    cpuTable(report, DIRECT),
    "### Start and memory",
    processTable(report, ["function", "naive", "supabase"]),
    "### Supabase transport (function → supabase-js → API gateway stand-in → PostgREST → PostgreSQL)",
    "PostgREST 12.0.2 from npm, configured as the Supabase CLI configures it; the gateway " +
    "stand-in (Deno, its own process) does Kong's job for the API keys.",
    latencyTable(report, ["supabase"], false),
    throughputTable(report, ["supabase"], false),
    cpuTable(report, ["supabase"]),
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
    table(
      ["goal", "measured", "target", "met"],
      report.targets.map(({ goal, value, target, unit, met }) => [
        goal,
        `${figure(value)} ${unit}`,
        `${figure(target)} ${unit}`,
        met ? "yes" : "**no**",
      ]),
    ),
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
