/** Validation of a verified Clerk event, reduced to what public.users holds. */
import { z } from "zod";

/** Clerk's clock and ours may differ a little; a later time is not Clerk's. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The fields of a Clerk user that are synced. */
export interface ClerkUserState {
  /** The address whose id is `primary_email_address_id`, else null. */
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  imageUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A Clerk event, validated and normalized. */
export type ClerkEvent =
  | {
    type: "user.created" | "user.updated";
    clerkId: string;
    /** The envelope timestamp: when Clerk emitted the event. */
    occurredAt: Date;
    user: ClerkUserState;
  }
  | { type: "user.deleted"; clerkId: string; occurredAt: Date }
  /** Any other type: recorded and acknowledged, never applied. */
  | { type: string; clerkId: null; occurredAt: Date };

/** The body is signed by Clerk but is not an event this sync can process. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEventError";
  }
}

/** Text that PostgreSQL can store: no NUL, no lone surrogate. */
function storableText(max: number) {
  return z.string().max(max).refine(
    (text) => text.isWellFormed() && !text.includes("\0"),
    "Invalid input: text with a NUL or an unpaired surrogate",
  );
}

/** Epoch milliseconds; values below 1e12 are taken as seconds, as some samples use. */
const epoch = z.number().int().nonnegative()
  .transform((value) => new Date(value < 1e12 ? value * 1000 : value));

const USER_TYPES = ["user.created", "user.updated", "user.deleted"];
const clerkId = storableText(255).min(1);
const optionalText = storableText(2048).nullish();
const user = z.object({
  id: clerkId,
  email_addresses: z.array(z.object({ id: z.string(), email_address: storableText(320) })),
  primary_email_address_id: z.string().nullish(),
  first_name: optionalText,
  last_name: optionalText,
  image_url: storableText(8192).nullish(),
  created_at: epoch,
  updated_at: epoch,
});
const envelope = z.object({ type: storableText(100).min(1), timestamp: epoch });
const userEvent = z.discriminatedUnion("type", [
  z.object({ type: z.enum(["user.created", "user.updated"]), data: user }),
  z.object({ type: z.literal("user.deleted"), data: z.object({ id: clerkId }) }),
]);

function parse<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length === 0 ? "event" : issue.path.join(".");
  throw new InvalidEventError(`Not a Clerk event: ${path}: ${issue.message}`);
}

function notLaterThan(now: number, times: Record<string, Date>): void {
  for (const [path, time] of Object.entries(times)) {
    if (time.getTime() > now + MAX_CLOCK_SKEW_MS) {
      throw new InvalidEventError(`Not a Clerk event: ${path}: time in the future`);
    }
  }
}

/**
 * Parses the verified body `text` as a Clerk event. Lenient about fields it does not
 * use (Clerk adds fields); strict about the ones it stores. Times later than
 * `now` (plus clock skew) are refused: a future version would freeze the row.
 */
export function parseClerkEvent(text: string, now: number = Date.now()): ClerkEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidEventError("Body is not JSON");
  }
  const { type, timestamp: occurredAt } = parse(envelope, json);
  notLaterThan(now, { timestamp: occurredAt });
  if (!USER_TYPES.includes(type)) return { type, clerkId: null, occurredAt };

  const event = parse(userEvent, json);
  if (event.type === "user.deleted") {
    return { type: event.type, clerkId: event.data.id, occurredAt };
  }
  const data = event.data;
  notLaterThan(now, { "data.created_at": data.created_at, "data.updated_at": data.updated_at });
  const primary = data.email_addresses.find((entry) => entry.id === data.primary_email_address_id);
  return {
    type: event.type,
    clerkId: data.id,
    occurredAt,
    user: {
      email: primary?.email_address ?? null,
      firstName: data.first_name ?? null,
      lastName: data.last_name ?? null,
      imageUrl: data.image_url ?? null,
      createdAt: data.created_at,
      updatedAt: data.updated_at,
    },
  };
}
