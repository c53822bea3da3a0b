/** The benchmark's figures: the ratios and targets derived from them, as markdown and as JSON. */
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

/** A goal of the direct transport and whether this run reached it. */
export interface TargetResult {
  goal: string;
  value: number;
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

function targets(contenders: Contenders, ratiosOfFunction: Report["ratios"]): TargetResult[] {
  const fn = contenders.function;
  const candidates: [string, number | undefined, string, (value: number) => boolean][] = [
    ["p50 ≤ 2 ms at 200 req/s", atRate(fn, 200)?.p50, "ms", (v) => v <= 2],
    ["p99 ≤ 10 ms at 200 req/s", atRate(fn, 200)?.p99, "ms", (v) => v <= 10],
    [
      "throughput at concurrency 16 ≥ 50% of the ceiling",
      (ratiosOfFunction.functionToCeiling.throughput[16] ?? NaN) * 100,
      "%",
      (v) => v >= 50,
    ],
    [
      "throughput at concurrency 16 ≥ the naive handler's",
      (ratiosOfFunction.functionToNaive.throughput[16] ?? NaN) * 100,
      "%",
      (v) => v >= 100,
    ],
    ["cold start ≤ 100 ms (median)", fn.coldStart?.medianMs, "ms", (v) => v <= 100],
    ["peak RSS ≤ 100 MB", fn.peakRssMb, "MB", (v) => v <= 100],
  ];
  return candidates.flatMap(([goal, value, unit, met]) =>
    value !== undefined && Number.isFinite(value) ? [{ goal, value, unit, met: met(value) }] : []
  );
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
    targets: targets(contenders, ratiosOfFunction),
    failures: Object.values(contenders).reduce((sum, result) => sum + result.failures, 0),
  };
}

function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value < 10 ? value.toFixed(2) : value.toFixed(value < 100 ? 1 : 0);
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
    "### Supabase transport (function → supabase-js → PostgREST stand-in → PostgreSQL)",
    "Includes the stand-in's own cost: it is not PostgREST.",
    latencyTable(report, ["supabase"], false),
    throughputTable(report, ["supabase"], false),
    cpuTable(report, ["supabase"]),
    "### Targets (direct transport)",
    table(
      ["goal", "measured", "met"],
      report.targets.map(({ goal, value, unit, met }) => [
        goal,
        `${value.toFixed(unit === "%" ? 0 : 1)} ${unit}`,
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
