/**
 * The zod pieces every entity's validation is made of, and the one error a signed but
 * unusable event raises. Lenient about fields the sync does not store (Clerk adds
 * fields and sends null for objects); strict about what PostgreSQL must accept.
 */
import { z } from "zod";

/** Clerk's clock and ours may differ a little; a later time is not Clerk's. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The body is signed by Clerk but is not an event this sync can process. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEventError";
  }
}

/** Whether PostgreSQL can store `text` in text or jsonb: no NUL, no lone surrogate. */
function isStorable(text: string): boolean {
  return text.isWellFormed() && !text.includes("\0");
}

/** Text that PostgreSQL can store, at most `max` characters. */
export function storableText(max: number) {
  return z.string().max(max).refine(
    isStorable,
    "Invalid input: text with a NUL or an unpaired surrogate",
  );
}

/** Whether every key and string inside a parsed JSON value is storable. */
function isStorableJson(value: unknown): boolean {
  if (typeof value === "string") return isStorable(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).every(([key, item]) => isStorable(key) && isStorableJson(item));
  }
  return true;
}

/** A JSON object (Clerk's metadata), null taken as {}; an array or a scalar is refused. */
export const jsonObject = z.record(z.string(), z.unknown()).nullish()
  .refine(
    (value) => value == null || isStorableJson(value),
    "Invalid input: text with a NUL or an unpaired surrogate",
  )
  .transform((value) => value ?? {});

/** Epoch milliseconds; values below 1e12 are taken as seconds, as some samples use. */
export const epoch = z.number().int().nonnegative()
  .transform((value) => new Date(value < 1e12 ? value * 1000 : value));

/** A Clerk object id (`user_…`). */
export const clerkId = storableText(255).min(1);

/** A name, URL or other short optional text. */
export const optionalText = storableText(2048).nullish().transform((value) => value ?? null);

/** Validates `json` against `schema`, naming the first problem's path. */
export function parse<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length === 0 ? "event" : issue.path.join(".");
  throw new InvalidEventError(`Not a Clerk event: ${path}: ${issue.message}`);
}

/** Refuses times later than `now` plus clock skew: a future version would freeze the row. */
export function notLaterThan(now: number, times: Record<string, Date>): void {
  for (const [path, time] of Object.entries(times)) {
    if (time.getTime() > now + MAX_CLOCK_SKEW_MS) {
      throw new InvalidEventError(`Not a Clerk event: ${path}: time in the future`);
    }
  }
}

/** `{ data: schema }` of each entity schema, for paths named `data.…`. */
const DATA_WRAPPERS = new WeakMap<z.ZodType, z.ZodType>();

/** What every synced object carries: Clerk's timestamps, which order its states. */
interface Timestamped {
  created_at: Date;
  updated_at: Date;
}

/**
 * Validates the `data` of an event against an entity's `schema` (paths named
 * `data.…`), refusing `created_at` and `updated_at` later than `now`.
 */
export function parseData<T extends Timestamped>(
  schema: z.ZodType<T>,
  json: unknown,
  now: number,
): T {
  // The wrapper is made once per schema: zod compiles each new object schema on its first
  // parse, which made a quarter of the function's CPU time when it was made per event.
  let wrapped = DATA_WRAPPERS.get(schema) as z.ZodType<{ data: T }> | undefined;
  if (wrapped === undefined) {
    wrapped = z.object({ data: schema });
    DATA_WRAPPERS.set(schema, wrapped);
  }
  const data = parse(wrapped, { data: json }).data;
  notLaterThan(now, { "data.created_at": data.created_at, "data.updated_at": data.updated_at });
  return data;
}

/**
 * The state columns every entity shares: Clerk's timestamps, and `private_metadata`
 * only when the event carries it (absent, the stored one stays; Clerk's null is {}).
 */
export function commonState(
  data: Timestamped & { private_metadata?: Record<string, unknown> | undefined },
): {
  clerk_created_at: string;
  clerk_updated_at: string;
  private_metadata?: Record<string, unknown>;
} {
  return {
    clerk_created_at: data.created_at.toISOString(),
    clerk_updated_at: data.updated_at.toISOString(),
    ...(data.private_metadata === undefined ? {} : { private_metadata: data.private_metadata }),
  };
}
