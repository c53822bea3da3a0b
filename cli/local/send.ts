/**
 * `npm run send -- <event>... [options]`: signs Clerk-shaped events with svix, as Clerk
 * does, posts them to the running function and prints each answer.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { entityOf, SYNCED_EVENT_TYPES } from "../../functions/clerk-webhook/entities.ts";
import { parseWebhookSecrets } from "../../functions/clerk-webhook/verify.ts";
import {
  deletedEvent,
  membershipEvent,
  organizationDeletedEvent,
  organizationEvent,
  type PayerState,
  paymentAttemptEvent,
  SAMPLE_USER,
  subscriptionEvent,
  subscriptionItemEvent,
  userEvent,
  waitlistEntryEvent,
} from "../../dev/clerk_events.ts";
import {
  configuredSecretVariable,
  DEFAULT_PORT,
  readDevSecret,
  readRunningServer,
} from "./local_dev.ts";
import { shuffle } from "../../dev/shuffle.ts";
import { deliver, newSvixId } from "../../dev/webhooks.ts";

const DEFAULT_ORG = "org_example";

/** The event types it builds: every type the sync keeps. */
const TYPES = SYNCED_EVENT_TYPES;

const USAGE = `Usage: npm run send -- <event>... [options]

Signs each event with svix and posts it to the running function (npm start).

  <event>             an event type the sync keeps (${TYPES.join(", ")}),
                      or the path of a JSON payload, sent as it is. Several events go in the order
                      given, one second apart in Clerk's timestamps.
  --id <user_…>       Clerk user id           (default: ${SAMPLE_USER.id})
  --email <address>   primary email, "" for none (default: ${SAMPLE_USER.email} for
                      the sample user, else <id>@example.com)
  --first-name <name> first name, "" for none (default: ${SAMPLE_USER.firstName})
  --last-name <name>  last name, "" for none  (default: ${SAMPLE_USER.lastName})
  --org <org_…>       Clerk organization id   (default: ${DEFAULT_ORG}; for an invitation
                      or a domain, the published example's)
  --name <name>       organization name       (default: Org <org id>)
  --slug <slug>       organization slug, "" for none (default: from the org id)
  --role <role>       member's role, org:admin or org:member (default: org:member);
                      a membership joins --id to --org, with id orgmem_<org>_<user>
  --plan <slug>       billing: the plan of the subscription item (default: pro-plan);
                      the payer is --org when given, else --id; the subscription is
                      csub_<payer>, its item csub_item_<payer>_<plan>, a payment attempt
                      pa_<payer>
  --status <status>   billing and waitlist: the object's status (default: the one the
                      event type says: subscriptionItem.canceled is canceled, …)
  --url <url>         the function (default: the running npm start, else
                      http://localhost:${DEFAULT_PORT})
  --repeat <n>        send each delivery n times with the same svix-id, as Svix retries
  --shuffle           send the deliveries in random order

Invitations, roles, permissions and domains are Clerk's published examples of their
type (fixtures/clerk/openapi-examples), with --id as the object's id and --org as
its organization when given, stamped now.
The defaults are the user of Clerk's sample event, as the dashboard's Testing tab sends.
Like Clerk's, a user.updated event carries the whole user: repeat the options that
differ from the defaults.
The secret is CLERK_WEBHOOK_SECRET (or CLERK_WEBHOOK_SIGNING_SECRET) if set, else the
development secret that npm start keeps in .data/webhook_secret.`;

/** One signed message: sent once, or several times with --repeat. */
interface Delivery {
  type: string;
  clerkId: string;
  svixId: string;
  body: string;
}

/** The command line is wrong: the message and the usage are printed. */
class UsageError extends Error {
  override name = "UsageError";
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        id: { type: "string" },
        email: { type: "string" },
        "first-name": { type: "string" },
        "last-name": { type: "string" },
        org: { type: "string" },
        name: { type: "string" },
        slug: { type: "string" },
        role: { type: "string" },
        plan: { type: "string" },
        status: { type: "string" },
        url: { type: "string" },
        repeat: { type: "string", default: "1" },
        shuffle: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

type Options = ReturnType<typeof parse>["values"];

/** `""` clears a field, as Clerk sends null for a name or email that is not set. */
const nullable = (value: string) => value === "" ? null : value;

async function buildDelivery(event: string, at: number, options: Options): Promise<Delivery> {
  const svixId = newSvixId();
  if (!TYPES.includes(event)) {
    // npm runs scripts in the project root, and says in INIT_CWD where it was run.
    const path = resolve(Deno.env.get("INIT_CWD") ?? ".", event);
    let body: string;
    try {
      body = await Deno.readTextFile(path);
    } catch (error) {
      throw new UsageError(
        `"${event}" is neither an event type (${TYPES.join(", ")}) nor a readable file: ${
          (error as Error).message
        }`,
      );
    }
    let json: { type?: unknown; data?: { id?: unknown } } | undefined;
    try {
      json = JSON.parse(body);
    } catch {
      // Sent as it is: the function's answer says what is wrong with it.
    }
    return {
      type: String(json?.type ?? event),
      clerkId: String(json?.data?.id ?? "-"),
      svixId,
      body,
    };
  }
  const [clerkId, payload] = await eventPayload(event, at, options);
  return { type: event, clerkId, svixId, body: JSON.stringify(payload) };
}

/** The Clerk id and payload of `type`, stamped `at`, from the options. */
/** Builds an event of one entity: its object's id and the payload. */
type Builder = (
  type: string,
  at: number,
  options: Options,
) => [string, Record<string, unknown>] | Promise<[string, Record<string, unknown>]>;

/** The status an event type leaves its object in, unless --status says otherwise. */
const STATUSES: Record<string, string> = {
  "subscription.pastDue": "past_due",
  "subscriptionItem.canceled": "canceled",
  "subscriptionItem.upcoming": "upcoming",
  "subscriptionItem.ended": "ended",
  "subscriptionItem.abandoned": "abandoned",
  "subscriptionItem.incomplete": "incomplete",
  "subscriptionItem.pastDue": "past_due",
  "paymentAttempt.created": "pending",
  "paymentAttempt.updated": "paid",
  "waitlistEntry.created": "pending",
  "waitlistEntry.updated": "invited",
};

/** The billing payer of the options: --org when given, else the user --id. */
function payerOf(options: Options): { payer: PayerState; name: string } {
  if (options.org !== undefined) {
    return { payer: { organizationId: options.org }, name: options.org };
  }
  const id = options.id ?? SAMPLE_USER.id;
  return { payer: { userId: id }, name: id };
}

/** The billing objects of the options: the subscription, its item and their payer. */
function billingOf(type: string, at: number, options: Options) {
  const { payer, name } = payerOf(options);
  const planSlug = options.plan ?? "pro-plan";
  return {
    payer,
    name,
    status: options.status ?? STATUSES[type] ?? "active",
    item: { id: `csub_item_${name}_${planSlug}`, planSlug, updatedAt: at },
    subscriptionId: `csub_${name}`,
  };
}

/** The entities whose options (--email, --slug, --role, …) shape their events. */
const BUILDERS: Record<string, Builder> = {
  user(type, at, options) {
    const id = options.id ?? SAMPLE_USER.id;
    if (type === "user.deleted") return [id, deletedEvent(id, at)];
    return [
      id,
      userEvent(type as "user.created" | "user.updated", {
        id,
        email: nullable(
          options.email ?? (id === SAMPLE_USER.id ? SAMPLE_USER.email : `${id}@example.com`),
        ),
        firstName: nullable(options["first-name"] ?? SAMPLE_USER.firstName),
        lastName: nullable(options["last-name"] ?? SAMPLE_USER.lastName),
        updatedAt: at,
      }),
    ];
  },
  organization(type, at, options) {
    const org = options.org ?? DEFAULT_ORG;
    if (type === "organization.deleted") return [org, organizationDeletedEvent(org, at)];
    return [
      org,
      organizationEvent(type as "organization.created" | "organization.updated", {
        id: org,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(options.slug === undefined ? {} : { slug: nullable(options.slug) }),
        updatedAt: at,
      }),
    ];
  },
  subscription(type, at, options) {
    const { payer, status, item, subscriptionId } = billingOf(type, at, options);
    return [
      subscriptionId,
      subscriptionEvent(type, {
        id: subscriptionId,
        payer,
        status,
        items: [{ ...item, status: status === "past_due" ? "past_due" : "active" }],
        updatedAt: at,
      }),
    ];
  },
  subscription_item(type, at, options) {
    const { payer, status, item, subscriptionId } = billingOf(type, at, options);
    return [item.id, subscriptionItemEvent(type, { ...item, subscriptionId, payer, status })];
  },
  payment_attempt(type, at, options) {
    const { payer, status, name } = billingOf(type, at, options);
    const id = `pa_${name}`;
    return [
      id,
      paymentAttemptEvent(type as "paymentAttempt.created", { id, payer, status, updatedAt: at }),
    ];
  },
  waitlist_entry(type, at, options) {
    const user = options.id ?? SAMPLE_USER.id;
    const id = `wle_${user.replace(/^user_/, "")}`;
    const status = options.status ?? STATUSES[type] ?? "pending";
    return [
      id,
      waitlistEntryEvent(type as "waitlistEntry.created", {
        id,
        emailAddress: options.email ?? `${user}@example.com`,
        status,
        updatedAt: at,
      }),
    ];
  },
  membership(type, at, options) {
    const id = options.id ?? SAMPLE_USER.id;
    const org = options.org ?? DEFAULT_ORG;
    const membership = `orgmem_${org.replace(/^org_/, "")}_${id.replace(/^user_/, "")}`;
    return [
      membership,
      membershipEvent(type as Parameters<typeof membershipEvent>[0], {
        id: membership,
        organizationId: org,
        userId: id,
        role: options.role ?? "org:member",
        updatedAt: at,
      }),
    ];
  },
};

/**
 * Any other entity's event: Clerk's published example of the type, with `--id` as the
 * object's id, `--org` as its organization (an invitation's, a domain's), and Clerk's
 * times at `at`.
 */
const fromExample: Builder = async (type, at, options) => {
  const example = JSON.parse(
    await Deno.readTextFile(
      new URL(`../../fixtures/clerk/openapi-examples/${type}.json`, import.meta.url),
    ),
  ) as { data: Record<string, unknown> };
  const data = { ...example.data };
  if (options.id !== undefined) data.id = options.id;
  if (options.org !== undefined && "organization_id" in data) data.organization_id = options.org;
  for (const time of ["updated_at", "created_at"]) if (time in data) data[time] = at;
  return [String(data.id), { ...example, type, timestamp: at, data }];
};

function eventPayload(
  type: string,
  at: number,
  options: Options,
): ReturnType<Builder> {
  const entity = entityOf(type)!;
  return (BUILDERS[entity.name] ?? fromExample)(type, at, options);
}

/** The configured secret (the first, if several), else the development secret. */
async function signingSecret(): Promise<{ secret: string; source: string }> {
  const env = (name: string) => Deno.env.get(name);
  const variable = configuredSecretVariable(env);
  if (variable !== undefined) {
    try {
      return { secret: parseWebhookSecrets(env(variable)!)[0]!, source: variable };
    } catch (error) {
      throw new Error(`${variable}: ${(error as Error).message}`);
    }
  }
  const secret = await readDevSecret();
  if (secret === undefined) {
    throw new Error(
      "No signing secret: run npm start once (it creates .data/webhook_secret), or set CLERK_WEBHOOK_SECRET",
    );
  }
  return { secret, source: "the development secret in .data/webhook_secret" };
}

/** Sends one delivery and prints its line; whether the function took it (2xx). */
async function send(url: string, delivery: Delivery, secret: string): Promise<boolean> {
  const label = `${delivery.type}  ${delivery.clerkId}  ${delivery.svixId}  →`;
  let answer: Awaited<ReturnType<typeof deliver>>;
  try {
    answer = await deliver(url, delivery.body, { secret, id: delivery.svixId });
  } catch (error) {
    const reason = error instanceof SyntaxError
      ? "the answer is not JSON: is this the clerk-webhook function?"
      : `cannot reach ${url}: is npm start running?`;
    console.log(`${label} ${reason}`);
    return false;
  }
  const { status, body } = answer;
  console.log(`${label} ${status} ${body.outcome ?? body.error ?? JSON.stringify(body)}`);
  return status >= 200 && status < 300;
}

async function main(args: string[]): Promise<number> {
  const { values: options, positionals: events } = parse(args);
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (events.length === 0) throw new UsageError("Name at least one event");
  const repeat = Number(options.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new UsageError(`--repeat "${options.repeat}" is not a whole number of at least 1`);
  }

  const { secret, source } = await signingSecret();
  const url = options.url ?? (await readRunningServer())?.functionUrl ??
    `http://localhost:${DEFAULT_PORT}`;
  // Clerk stamps later events later: the first event given is the oldest.
  const now = Date.now();
  const built = await Promise.all(
    events.map((event, index) =>
      buildDelivery(event, now - (events.length - 1 - index) * 1000, options)
    ),
  );
  const deliveries = built.flatMap((delivery) => Array<Delivery>(repeat).fill(delivery));
  if (options.shuffle) shuffle(deliveries);

  console.log(`Posting to ${url}, signed with ${source}:`);
  let ok = true;
  for (const delivery of deliveries) ok = await send(url, delivery, secret) && ok;
  return ok ? 0 : 1;
}

try {
  Deno.exit(await main(Deno.args));
} catch (error) {
  console.error((error as Error).message);
  if (error instanceof UsageError) console.error(`\n${USAGE}`);
  Deno.exit(error instanceof UsageError ? 2 : 1);
}
