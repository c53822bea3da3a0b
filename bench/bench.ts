/**
 * `npm run bench`: the clerk-webhook function's latency, throughput, cold start and
 * memory, side by side with the database's own limit and the seed's naive handler on its
 * own Prisma-shaped table, in two scenarios (`mix` and a `burst` of sign-ups), in one run
 * on one scratch database. `--quick` runs a short version (CI). Progress goes to stderr,
 * the markdown tables to stdout, the figures as JSON to bench/results/. Exits non-zero
 * when any request fails (a non-2xx answer or an error), whatever the timings.
 */
import postgres from "postgres";
import { BACKFILL_BATCHING } from "../cli/backfill/sync.ts";
import type { Database } from "../functions/clerk-webhook/database.ts";
import { openPostgresDatabase } from "../functions/clerk-webhook/postgres_database.ts";
import { openSupabaseDatabase } from "../functions/clerk-webhook/supabase_database.ts";
import { createSyncStore } from "../functions/clerk-webhook/sync_store.ts";
import { createMigratedDatabase, dropDatabases } from "../dev/database.ts";
import { openTestServer } from "../dev/postgres_server.ts";
import { prefetch } from "../dev/prefetch.ts";
import {
  cacheFunction,
  type FunctionProcess,
  LOCAL_DENO,
  RUNTIMES,
  startFunction,
} from "../dev/function_process.ts";
import { POSTGREST_MISSING, startPostgrest } from "../dev/postgrest.ts";
import { newSecret } from "../dev/webhooks.ts";
import { type BackfillResult, measureBackfill } from "./backfill.ts";
import { type ColdStart, measureColdStart } from "./cold_start.ts";
import { prepareEvents, type Scenario } from "./events.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { createNaiveTable } from "./naive_table.ts";
import {
  type Contender,
  type PhaseResults,
  runPhases,
  scenarioPhases,
  type Settings,
} from "./phases.ts";
import { connectionsToPort, peakRssBytes } from "./proc.ts";
import {
  type Backfills,
  buildReport,
  type ColdStartResult,
  type ContenderKey,
  type Contenders,
  type MeasuredScenario,
  previousRun,
  renderMarkdown,
  type Report,
  saveReport,
} from "./report.ts";
import { ceilingTarget, httpTarget, storeTarget } from "./targets.ts";

const FULL: Settings = {
  rates: [100, 200, 500],
  rateSeconds: 4,
  concurrencies: [1, 4, 16, 64],
  burstConcurrencies: [16, 64],
  concurrencySeconds: 2.4,
  slices: 4,
  eventsPerSecondBound: 4000,
  warmUpSeconds: 1,
  coldStarts: 5,
  backfillUsers: 20_000,
};
const QUICK: Settings = {
  ...FULL,
  rateSeconds: 0.5,
  concurrencySeconds: 0.4,
  slices: 1,
  warmUpSeconds: 0.2,
  coldStarts: 1,
  backfillUsers: 1_000,
};
const NAIVE_HANDLER = new URL("naive_handler.ts", import.meta.url);
const HTTP_FLOOR = new URL("http_floor.ts", import.meta.url);
const API_GATEWAY = new URL("api_gateway_process.ts", import.meta.url);
const CLERK_API_STAND_IN = new URL("clerk_api_process.ts", import.meta.url);
const RESULTS = new URL("results/", import.meta.url);
/**
 * The last full quiet run of the earlier design (one scenario, the naive handler on
 * public.users): low-load latency must be no worse than it.
 */
const REFERENCE_RUN = new URL("2026-12-02T11-38-50Z-full.json", RESULTS);
/** The project's keys: any values work, PostgREST, the gateway and the function just share them. */
const JWT_SECRET = "bench-jwt-secret-with-at-least-32-characters";
const SECRET_KEY = "sb_secret_bench_000000000000000000000000";

const mode = Deno.args.includes("--quick") ? "quick" : "full";
const settings = mode === "quick" ? QUICK : FULL;
const progress = (message: string) => console.error(message);
const prefix = `cws_bench_${Date.now().toString(36)}_${Deno.pid}`;
const date = new Date().toISOString();
const started = performance.now();
const secret = newSecret();

/**
 * What the phases measured for each contender, with the memory and connections of those
 * served by one of `servers` (by contender name).
 */
async function withServers(
  phases: Partial<Record<ContenderKey, PhaseResults>>,
  servers: Partial<Record<ContenderKey, FunctionProcess>>,
): Promise<Contenders> {
  const contenders: Contenders = {};
  for (const [key, result] of Object.entries(phases) as [ContenderKey, PhaseResults][]) {
    const server = servers[key];
    contenders[key] = server === undefined ? result : {
      ...result,
      peakRssMb: (await peakRssBytes(server.pid)) / 1e6,
      connections: await connectionsToPort(Number(new URL(server.url).port)),
    };
  }
  return contenders;
}

/** Times cold starts of the server `start` spawns, each answering one fresh `user.created`. */
async function coldStart(
  sql: postgres.Sql,
  start: () => Promise<FunctionProcess>,
): Promise<ColdStart> {
  // prepareEvents() makes a user.created every tenth event from the first: no seed needed.
  const events = await prepareEvents(sql, settings.coldStarts * 10);
  let next = 0;
  return await measureColdStart(settings.coldStarts, start, (url) => {
    const send = httpTarget(url, secret)(events);
    next += 10;
    return send(next - 10);
  });
}

/**
 * Backfills the stand-in's users through `store`, then removes what it wrote so that
 * the next run creates them again.
 */
async function backfillOnce(
  sql: postgres.Sql,
  db: Database,
  api: { url: string; secretKey: string },
): Promise<BackfillResult> {
  try {
    return await measureBackfill(db, BACKFILL_BATCHING, api);
  } finally {
    await sql`delete from public.users where clerk_id like 'user_bench%'`;
    await sql`delete from clerk_sync.deliveries where svix_id like 'backfill:user_bench%'`;
  }
}

/**
 * Starts the servers, runs every contender through the phases of each scenario on the
 * database at `databaseUrl` (`sql` is an owner connection), times the backfill of each
 * transport, then the cold starts on each Deno.
 */
async function measure(
  databaseUrl: string,
  sql: postgres.Sql,
): Promise<{
  scenarios: Record<Scenario, MeasuredScenario>;
  backfill: Backfills;
  coldStarts: ColdStartResult[];
}> {
  const direct = { CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: databaseUrl };
  progress(
    "Starting the function, the naive handler, the HTTP floor, PostgREST and the API gateway stand-in",
  );
  await using fn = await startFunction(direct);
  await using naive = await startFunction(direct, { entrypoint: NAIVE_HANDLER });
  await using floor = await startFunction({}, { entrypoint: HTTP_FLOOR });
  await using postgrest = await startPostgrest({ databaseUrl, jwtSecret: JWT_SECRET });
  await using gateway = await startFunction(
    { POSTGREST_URL: postgrest.url, JWT_SECRET, SECRET_KEY },
    { entrypoint: API_GATEWAY },
  );
  const apiUrl = gateway.url.replace(/\/$/, "");
  const viaApi = {
    CLERK_WEBHOOK_SECRET: secret,
    SUPABASE_URL: apiUrl,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
  };
  await using fnViaApi = await startFunction(viaApi);

  // The ceiling's pool: as many connections as the load has requests in flight at most.
  const pool = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  const store = createSyncStore(openPostgresDatabase(databaseUrl));
  const functionContender: Contender<ContenderKey> = {
    name: "function",
    target: httpTarget(fn.url, secret),
    servers: { server: fn.pid },
  };
  const naiveContender: Contender<ContenderKey> = {
    name: "naive",
    target: httpTarget(naive.url, secret),
    servers: { server: naive.pid },
  };
  const supabaseContender: Contender<ContenderKey> = {
    name: "supabase",
    target: httpTarget(fnViaApi.url, secret),
    servers: { server: fnViaApi.pid, gateway: gateway.pid, postgrest: postgrest.pid },
  };
  const contenders: Record<Scenario, Contender<ContenderKey>[]> = {
    mix: [
      functionContender,
      naiveContender,
      { name: "ceiling", target: ceilingTarget(pool) },
      { name: "sqlFunction", target: storeTarget(store) },
      {
        name: "httpFloor",
        target: httpTarget(floor.url, secret),
        servers: { server: floor.pid },
        throughputOnly: true,
      },
      supabaseContender,
    ],
    burst: [
      functionContender,
      naiveContender,
      { name: "ceiling", target: ceilingTarget(pool, { plainInsert: true }) },
      supabaseContender,
    ],
  };
  const servers = { function: fn, naive, httpFloor: floor, supabase: fnViaApi };
  const scenarios = {} as Record<Scenario, MeasuredScenario>;
  try {
    for (const scenario of ["mix", "burst"] as const) {
      const phases = await runPhases(sql, scenario, contenders[scenario], settings, progress);
      scenarios[scenario] = {
        ...scenarioPhases(scenario, settings),
        // Memory and connections after the mix, the scenario with every server.
        contenders: scenario === "mix" ? await withServers(phases, servers) : phases,
      };
    }
  } finally {
    await store.close();
    await pool.end();
  }

  progress(`Backfill of ${settings.backfillUsers} users, direct and through supabase-js`);
  const api = { secretKey: `sk_test_${crypto.randomUUID()}` };
  await using clerk = await startFunction(
    { SECRET_KEY: api.secretKey, USERS: String(settings.backfillUsers) },
    { entrypoint: CLERK_API_STAND_IN },
  );
  const clerkApi = { ...api, url: clerk.url.replace(/\/$/, "") };
  const backfill: Backfills = {
    direct: await backfillOnce(
      sql,
      openPostgresDatabase(databaseUrl, { max: BACKFILL_BATCHING.maxCalls + 1 }),
      clerkApi,
    ),
    supabase: await backfillOnce(sql, openSupabaseDatabase(apiUrl, SECRET_KEY), clerkApi),
  };

  const coldStarts: ColdStartResult[] = [];
  for (const runtime of RUNTIMES) {
    if (runtime.executable === undefined) {
      progress(`Cold starts on ${runtime.name}: skipped, no build of it for this platform`);
      continue;
    }
    progress(`Cold starts on ${runtime.name} (${settings.coldStarts} of each)`);
    await cacheFunction(runtime, NAIVE_HANDLER);
    coldStarts.push(
      {
        server: "function",
        runtime: runtime.name,
        coldStart: await coldStart(sql, () => startFunction(direct, { runtime })),
      },
      {
        server: "naive",
        runtime: runtime.name,
        coldStart: await coldStart(
          sql,
          () => startFunction(direct, { entrypoint: NAIVE_HANDLER, runtime }),
        ),
      },
    );
    if (runtime === LOCAL_DENO) {
      coldStarts.push({
        server: "supabase",
        runtime: runtime.name,
        coldStart: await coldStart(sql, () => startFunction(viaApi)),
      });
    }
  }
  return { scenarios, backfill, coldStarts };
}

/**
 * Creates the scratch database (on an embedded PostgreSQL 17 with its default, durable
 * settings, or on TEST_DATABASE_URL), measures, and drops it whatever happens.
 */
async function benchmark(): Promise<Report> {
  if (POSTGREST_MISSING !== undefined) {
    throw new Error(`Cannot measure the Supabase transport here: ${POSTGREST_MISSING}`);
  }
  await prefetch();
  await using server = await openTestServer();
  try {
    progress(
      `Benchmark (${mode}): creating ${prefix} with supabase db push on ${server.description}`,
    );
    const databaseUrl = await createMigratedDatabase(prefix);
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      // The naive handler's own table: no part of the migrations, created after them.
      await createNaiveTable(sql);
      const machine = await describeMachine(sql);
      const { scenarios, backfill, coldStarts } = await measure(databaseUrl, sql);
      return buildReport({
        mode,
        date,
        command: mode === "quick" ? "npm run bench -- --quick" : "npm run bench",
        seconds: (performance.now() - started) / 1000,
        machine,
        loadAverageAtEnd: await loadAverage(),
        settings,
        scenarios,
        backfill,
        coldStarts,
        previous: await previousRun(REFERENCE_RUN),
      });
    } finally {
      await sql.end();
    }
  } finally {
    await dropDatabases(prefix);
  }
}

const report = await benchmark();
console.log(renderMarkdown(report));
progress(`Figures saved to ${await saveReport(report, RESULTS)}`);
if (report.failures > 0) {
  const first = Object.values(report.scenarios)
    .flatMap((scenario) => Object.values(scenario.contenders))
    .find((contender) => contender.firstFailure)?.firstFailure;
  progress(`${report.failures} requests failed; the first: ${first}`);
  Deno.exit(1);
}
