/**
 * Bringing the synced tables to Clerk's current state, one entity at a time (users,
 * organizations, memberships, as functions/clerk-webhook/entities.ts lists them): every object of the Clerk API goes through the
 * webhook's parser and the webhook's SQL function, as an event of its current state;
 * `reconcile` also deletes the rows of objects Clerk no longer has.
 *
 * Each state gets a deterministic delivery id,
 * `backfill:<id>:<updated_at ms>[:<sync format>]`, stamped with Clerk's `updated_at`
 * as the event time, so that:
 * - a rerun finds its ids in the ledger and changes nothing (`duplicate`);
 * - a webhook event newer than the snapshot (later `updated_at`) is never overwritten
 *   (`stale`);
 * - a webhook of the same state wins the tie: its envelope timestamp is at least
 *   `updated_at`, and on equal times its `msg_…` id sorts after `backfill:…`;
 * - after an upgrade that adds columns (a new sync format), the ids are new, and the
 *   same state fills the new columns of rows written before it.
 */
import {
  type ClerkEvent,
  readDeliveryId,
  type StateEvent,
  stateEventOf,
} from "../../functions/clerk-webhook/clerk_event.ts";
import { InvalidEventError } from "../../functions/clerk-webhook/schema.ts";
import type { Outcome, SyncStore } from "../../functions/clerk-webhook/store.ts";
import type { Database } from "../../functions/clerk-webhook/database.ts";
import type { ListedEntity } from "../../functions/clerk-webhook/entity.ts";
import { readStoredVersions, type StoredRow, type StoredVersions } from "./rows.ts";
import {
  type ClerkApi,
  MAX_PAGE_SIZE,
  type Page,
} from "../../functions/clerk-webhook/clerk_api.ts";

/**
 * How the backfill's store batches: two calls of 250 in flight, a page of 500 at a
 * time. Measured against one call of 100 (the webhook's default) on a 2-core machine:
 * 4,800 against 3,300 users/s; 4 × 125 and 2 × 500 did no better.
 */
export const BACKFILL_BATCHING = { maxCalls: 2, maxBatch: 250 } as const;

/** One kind of Clerk object, as the backfill reads it from Clerk and from the table. */
export interface BackfillKind {
  /** The plural of progress lines: users, organizations, memberships. */
  noun: string;
  /** The event type a listed object is applied as, and the one its deletion is, if any. */
  stateType: string;
  deleteType?: string;
  /** One page of Clerk's listing. */
  list(page: Page): Promise<unknown[]>;
  /** The object as Clerk has it now, or null once Clerk says it is gone. */
  confirm(id: string, row: StoredRow): Promise<unknown | null>;
  /** The table's rows; read once, after the listing, for reconcile and dry runs. */
  readStored: () => Promise<StoredVersions>;
}

/**
 * `entity` as the backfill reads it: from `clerk` where its module says Clerk lists it,
 * and from its table in `db`. A listed object is applied as the entity's last state type
 * (its `.updated`), a deletion as its delete type.
 */
export function backfillKind(
  entity: ListedEntity,
  clerk: Pick<ClerkApi, "list" | "listEach" | "find">,
  db: Database,
): BackfillKind {
  const { one } = entity.clerk;
  const parentColumn = one !== undefined && "parentColumn" in one ? one.parentColumn : undefined;
  return {
    noun: entity.plural,
    stateType: entity.stateTypes.at(-1)!,
    ...(entity.deleteType === undefined ? {} : { deleteType: entity.deleteType }),
    list: entity.clerk.parents === undefined
      ? (page) => clerk.list(entity.clerk, page)
      : pagesOf(() => clerk.listEach(entity.clerk)),
    confirm: (id, row) =>
      clerk.find(
        entity.clerk,
        id,
        parentColumn === undefined ? {} : { [parentColumn]: row.parent },
      ),
    readStored: () => readStoredVersions(db, entity.table, parentColumn),
  };
}

/**
 * Pages of a listing read whole on the first page (a listing per parent, which Clerk
 * does not page across parents): each page a slice of it.
 */
function pagesOf(read: () => Promise<unknown[]>): (page: Page) => Promise<unknown[]> {
  let all: Promise<unknown[]> | undefined;
  return async ({ limit, offset }) => (await (all ??= read())).slice(offset, offset + limit);
}

/** What a dry run would do to one row. */
export type PlannedAction = "create" | "update" | "delete";

/** Options of {@linkcode backfill}. */
export interface BackfillOptions {
  /** What to bring: an entity (see {@linkcode backfillKind}). */
  kind: BackfillKind;
  store: SyncStore;
  /** Also delete rows whose objects Clerk no longer has. */
  reconcile?: boolean;
  /** Change nothing; report what would change through `onPlan`. */
  dryRun?: boolean;
  /** Objects per page of the listing (default and most: 500). */
  pageSize?: number;
  /** Refuse to delete more rows than this (default: 10 % of the rows, at least 10). */
  maxDeletes?: number;
  /** Receives a progress line after each page and each phase. */
  onProgress?: (line: string) => void;
  /** Receives each change a dry run would make. */
  onPlan?: (action: PlannedAction, clerkId: string) => void;
  /** The clock, in epoch milliseconds. */
  now?: () => number;
}

/** What a run did (or, in a dry run, would do). */
export interface BackfillSummary {
  /** Users read from Clerk, each counted once. */
  fetched: number;
  applied: number;
  stale: number;
  duplicate: number;
  /** Rows deleted (with a tombstone) by reconcile. */
  deleted: number;
  /** Users Clerk returned that the webhook's parser refuses; each was reported. */
  invalid: number;
  /** Dry run only: rows that would be created, updated, or left as they are. */
  create: number;
  update: number;
  unchanged: number;
}

/** Reconcile found more rows to delete than allowed; nothing was deleted. */
export class TooManyDeletionsError extends Error {
  constructor(count: number, rows: number, max: number) {
    super(
      `Refusing to delete ${count} of ${rows} rows (the limit is ${max}): check that ` +
        `CLERK_SECRET_KEY is the key of the instance whose webhooks fill this database, ` +
        `then pass --max-deletes=${count} to proceed`,
    );
    this.name = "TooManyDeletionsError";
  }
}

/**
 * Users deleted while paging shift later users to lower offsets; pages overlap by this
 * share so that a few such deletions per page skip nobody (users seen twice are skipped).
 */
const OVERLAP_SHARE = 0.1;

/**
 * Pages through Clerk's objects of one entity and applies each one (or plans it, in a dry run); with
 * `reconcile`, confirms with Clerk each row the listing did not return and deletes the
 * ones Clerk answers 404 for. Stops at the first failure of Clerk or the database,
 * with everything applied so far committed and reported through `onProgress`.
 */
export async function backfill(options: BackfillOptions): Promise<BackfillSummary> {
  const summary: BackfillSummary = {
    fetched: 0,
    applied: 0,
    stale: 0,
    duplicate: 0,
    deleted: 0,
    invalid: 0,
    create: 0,
    update: 0,
    unchanged: 0,
  };
  try {
    await run(options, summary);
  } catch (error) {
    options.onProgress?.(
      `Stopped after ${progress(summary, options.dryRun ?? false, options.kind.noun)}`,
    );
    throw error;
  }
  return summary;
}

async function run(options: BackfillOptions, summary: BackfillSummary): Promise<void> {
  const {
    kind,
    store,
    dryRun = false,
    reconcile = false,
    pageSize = MAX_PAGE_SIZE,
    onProgress = () => {},
    onPlan = () => {},
    now = Date.now,
  } = options;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`Page size must be 1 to ${MAX_PAGE_SIZE}: got ${pageSize}`);
  }
  /** Clerk ids seen, valid or not: overlapping pages and confirmations repeat none. */
  const seen = new Set<string>();
  /** Clerk's updated_at (ms) of every valid object seen: what a dry run compares. */
  const listed = new Map<string, number>();
  const noun = kind.noun;

  const take = async (objects: unknown[]) => {
    const events: StateEvent[] = [];
    for (const object of objects) {
      const id = (object as { id?: unknown } | null)?.id;
      if (typeof id === "string") {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      summary.fetched++;
      let event: StateEvent;
      try {
        event = stateEventOf(kind.stateType, object, now());
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        summary.invalid++;
        onProgress(
          `Skipping Clerk ${noun.slice(0, -1)} ${JSON.stringify(id ?? null)}: ${error.message}`,
        );
        continue;
      }
      listed.set(event.objectId, event.occurredAt.getTime());
      events.push(event);
    }
    if (dryRun) return;
    // The page goes to the database as whole batches (group commit).
    const outcomes = await store.applyAll(
      events.map((event) => ({ svixId: readDeliveryId("backfill", event), event })),
    );
    for (const outcome of outcomes) count(summary, outcome);
  };

  const overlap = Math.floor(pageSize * OVERLAP_SHARE);
  let next = kind.list({ limit: pageSize, offset: 0 });
  for (let offset = 0;;) {
    const objects = await next;
    const more = objects.length >= pageSize;
    if (more) {
      // The next page is on its way while this one is applied.
      next = kind.list({ limit: pageSize, offset: offset + pageSize - overlap });
      next.catch(() => {}); // Awaited next round; unawaited if this page fails.
    }
    await take(objects);
    onProgress(progress(summary, dryRun, noun));
    if (!more) break;
    offset += pageSize - overlap;
  }

  if (!dryRun && !reconcile) return;
  const stored = await kind.readStored();
  const gone: string[] = [];
  // Objects Clerk never deletes (billing) have nothing to reconcile.
  if (reconcile && kind.deleteType !== undefined) {
    const absent = [...stored].filter(([id]) => !seen.has(id));
    // The listing is a snapshot: a row it lacks may belong to an object created or
    // skipped since. Only Clerk's 404 for the object itself says it is gone.
    for (const [id, row] of absent) {
      const object = await kind.confirm(id, row);
      if (object !== null) await take([object]);
      else if (kind.deleteType !== undefined) gone.push(id);
    }
    const maxDeletes = options.maxDeletes ?? Math.max(10, Math.floor(stored.size / 10));
    if (gone.length > maxDeletes) {
      throw new TooManyDeletionsError(gone.length, stored.size, maxDeletes);
    }
    onProgress(`${absent.length} rows missing from the listing, ${gone.length} gone from Clerk`);
  }
  if (dryRun) {
    for (const [id, updatedAt] of listed) {
      const version = stored.get(id)?.version;
      const action = version === undefined ? "create" : version < updatedAt ? "update" : null;
      if (action === null) summary.unchanged++;
      else {
        summary[action]++;
        onPlan(action, id);
      }
    }
  }
  for (const id of gone) {
    if (dryRun) {
      summary.deleted++;
      onPlan("delete", id);
      continue;
    }
    const event: ClerkEvent = {
      type: kind.deleteType!,
      objectId: id,
      occurredAt: new Date(now()),
      state: null,
    };
    const outcome = await store.apply(`reconcile:${id}`, event);
    if (outcome === "applied") summary.deleted++;
    else count(summary, outcome);
  }
}

/** One line describing `summary` of `noun`, for progress and the end of a run. */
export function progress(summary: BackfillSummary, dryRun: boolean, noun: string): string {
  const { fetched, applied, stale, duplicate, deleted, invalid } = summary;
  const parts = dryRun ? [`${fetched} ${noun} fetched`] : [
    `${fetched} ${noun} fetched`,
    `${applied} applied`,
    `${stale} stale`,
    `${duplicate} duplicate`,
    `${deleted} deleted`,
  ];
  if (invalid > 0) parts.push(`${invalid} invalid`);
  return parts.join(", ");
}

function count(summary: BackfillSummary, outcome: Outcome): void {
  if (outcome === "ignored") throw new TypeError("Unexpected outcome of a state event: ignored");
  summary[outcome]++;
}
