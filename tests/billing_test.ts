/**
 * Billing and the waitlist through the real handler over HTTP into a real database, on
 * both transports: each of Clerk's published examples into its table, a subscription's
 * items by their own order, organization payers, and an email.created that leaves no
 * trace of its body.
 */
import assert from "node:assert/strict";
import { type ScratchDatabase, scratchDatabase } from "../dev/database.ts";
import { deliver, newSecret } from "../dev/webhooks.ts";
import type { LogEntry } from "../functions/clerk-webhook/handler.ts";
import {
  openTransport,
  serveHandler,
  testOn,
  TRANSPORTS,
  withHandler,
} from "./support/transports.ts";

const EXAMPLES = new URL("../fixtures/clerk/openapi-examples/", import.meta.url);
const T = Date.now() - 60 * 60 * 1000;

const example = async (type: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`${type}.json`, EXAMPLES)));

const id = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

const SUBSCRIPTION = "csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
const ITEM = "csub_item_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
const USER = "user_34D368EufHwugfYh4yyGNEheM0S";

const ITEM_TYPES = [
  "subscriptionItem.abandoned",
  "subscriptionItem.active",
  "subscriptionItem.canceled",
  "subscriptionItem.ended",
  "subscriptionItem.freeTrialEnding",
  "subscriptionItem.incomplete",
  "subscriptionItem.pastDue",
  "subscriptionItem.upcoming",
  "subscriptionItem.updated",
];
const SUBSCRIPTION_TYPES = [
  "subscription.created",
  "subscription.updated",
  "subscription.active",
  "subscription.pastDue",
];

async function clearBilling(db: ScratchDatabase): Promise<void> {
  await db.sql`truncate public.billing_subscriptions, public.billing_subscription_items,
    public.billing_payment_attempts, public.waitlist_entries`;
}

async function items(db: ScratchDatabase) {
  return [
    ...await db.sql`
      select clerk_id, subscription_id, plan_slug, status, payer_user_id, payer_organization_id
      from public.billing_subscription_items order by clerk_id`,
  ];
}

/** A subscription event of `payer` whose one item is `item`, both at `updatedAt`. */
function subscriptionEvent(
  type: string,
  options: {
    id: string;
    itemId: string;
    status?: string;
    itemStatus?: string;
    planSlug?: string;
    payer: { user_id: string; organization_id: string };
    updatedAt: number;
    itemUpdatedAt?: number;
  },
) {
  return {
    type,
    object: "event",
    timestamp: options.updatedAt,
    data: {
      object: "commerce_subscription",
      id: options.id,
      status: options.status ?? "active",
      active_at: T,
      canceled_at: null,
      ended_at: null,
      past_due_at: null,
      created_at: T,
      updated_at: options.updatedAt,
      payer: { object: "commerce_payer", id: "cpayer_1", ...options.payer },
      items: [{
        object: "commerce_subscription_item",
        id: options.itemId,
        status: options.itemStatus ?? "active",
        is_free_trial: false,
        created_at: T,
        updated_at: options.itemUpdatedAt ?? options.updatedAt,
        period_start: T,
        period_end: null,
        interval: "month",
        plan_id: "cplan_1",
        plan: { id: "cplan_1", slug: options.planSlug ?? "pro", name: "Pro" },
        seats: { quantity: 3 },
        subscription_id: null,
      }],
    },
  };
}

for (const transport of TRANSPORTS) {
  const test = testOn(transport);

  test(`each of Clerk's published subscription examples applies into billing_subscriptions with its item over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const type of SUBSCRIPTION_TYPES) {
        await clearBilling(db);
        const event = await example(type);
        assert.equal(await send(event), "applied", type);
        const [row] = await db.sql`
          select clerk_id, status, payer_user_id, payer_organization_id, active_at
          from public.billing_subscriptions`;
        assert.deepEqual({ ...row }, {
          clerk_id: SUBSCRIPTION,
          status: event.data.status,
          payer_user_id: USER,
          // Clerk's "" for a user payer is no organization.
          payer_organization_id: null,
          active_at: new Date(event.data.active_at),
        }, type);
        assert.deepEqual(await items(db), [{
          clerk_id: ITEM,
          subscription_id: SUBSCRIPTION,
          plan_slug: "pro-plan",
          status: event.data.items[0].status,
          payer_user_id: USER,
          payer_organization_id: null,
        }], type);
      }
    });
  });

  test(`each of Clerk's published subscription item examples applies into billing_subscription_items over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const type of ["subscriptionItem.created", ...ITEM_TYPES]) {
        await clearBilling(db);
        // subscriptionItem.created is gone from Clerk's spec but may still arrive.
        const event = type === "subscriptionItem.created"
          ? { ...await example("subscriptionItem.active"), type }
          : await example(type);
        assert.equal(await send(event), "applied", type);
        const [row] = await db.sql`
          select clerk_id, subscription_id, plan_slug, plan_name, interval, status,
            is_free_trial, period_end, seats, payer_user_id, payer_organization_id
          from public.billing_subscription_items`;
        assert.deepEqual({ ...row }, {
          clerk_id: ITEM,
          subscription_id: SUBSCRIPTION,
          plan_slug: event.data.plan.slug,
          plan_name: event.data.plan.name,
          interval: "month",
          status: event.data.status,
          is_free_trial: event.data.is_free_trial,
          period_end: event.data.period_end === null ? null : new Date(event.data.period_end),
          seats: event.data.seats?.quantity ?? null,
          payer_user_id: USER,
          payer_organization_id: null,
        }, type);
      }
    });
  });

  test(`Clerk's published payment attempt and waitlist examples apply in turn over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const type of ["paymentAttempt.created", "paymentAttempt.updated"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      const [attempt] = await db.sql`
        select clerk_id, status, payer_user_id, payer_organization_id, subtotal_amount,
          tax_amount, total_amount, currency, paid_at is not null as paid, failed_at,
          failed_reason, charge_type
        from public.billing_payment_attempts`;
      const updated = await example("paymentAttempt.updated");
      assert.deepEqual({ ...attempt }, {
        clerk_id: "pa_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        status: "paid",
        payer_user_id: "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        payer_organization_id: null,
        subtotal_amount: String(updated.data.totals.subtotal.amount),
        tax_amount: String(updated.data.totals.tax_total.amount),
        total_amount: String(updated.data.totals.grand_total.amount),
        currency: "USD",
        paid: true,
        failed_at: null,
        failed_reason: null,
        charge_type: updated.data.charge_type,
      });
      assert.equal(await send(await example("paymentAttempt.created")), "stale");

      for (const type of ["waitlistEntry.created", "waitlistEntry.updated"]) {
        assert.equal(await send(await example(type)), "applied", type);
      }
      assert.equal(await send(await example("waitlistEntry.created")), "stale");
      const entries = await db
        .sql`select clerk_id, email_address, status from public.waitlist_entries`;
      assert.deepEqual([...entries], [{
        clerk_id: "wle_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        email_address: "john.doe@example.com",
        status: "invited",
      }]);
    });
  });

  test(`an item keeps its newest state whether it arrives alone or inside its subscription, in either order, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      for (const itemFirst of [false, true]) {
        await clearBilling(db);
        const [subscriptionId, itemId, user] = [id("csub"), id("csub_item"), id("user")];
        const payer = { user_id: user, organization_id: "" };
        // The subscription is newer than the item it carries; the item alone is newer.
        const subscription = subscriptionEvent("subscription.updated", {
          id: subscriptionId,
          itemId,
          payer,
          updatedAt: T + 2_000,
          itemUpdatedAt: T,
        });
        const item = {
          ...await example("subscriptionItem.canceled"),
          timestamp: T + 1_000,
        };
        item.data = {
          ...item.data,
          id: itemId,
          subscription_id: subscriptionId,
          updated_at: T + 1_000,
          payer: { ...item.data.payer, user_id: user },
        };
        const answers = itemFirst
          ? [await send(item), await send(subscription)]
          : [await send(subscription), await send(item)];
        assert.deepEqual(answers, ["applied", "applied"], `item first: ${itemFirst}`);
        const [row] = await db.sql`
          select status, payer_user_id from public.billing_subscription_items
          where clerk_id = ${itemId}`;
        assert.deepEqual({ ...row }, { status: "canceled", payer_user_id: user });
        const [stored] = await db.sql`
          select status from public.billing_subscriptions where clerk_id = ${subscriptionId}`;
        assert.equal(stored?.status, "active");
      }
    });
  });

  test(`a subscription event older than both stored states is stale and changes nothing, over ${transport}`, async () => {
    await withHandler(transport, async (db, send) => {
      const [subscriptionId, itemId, org] = [id("csub"), id("csub_item"), id("org")];
      const payer = { user_id: "", organization_id: org };
      const at = (updatedAt: number, status: string) =>
        subscriptionEvent("subscription.pastDue", {
          id: subscriptionId,
          itemId,
          status,
          itemStatus: status,
          payer,
          updatedAt,
        });
      assert.equal(await send(at(T + 1_000, "past_due")), "applied");
      assert.equal(await send(at(T, "active")), "stale");
      assert.deepEqual(await items(db), [{
        clerk_id: itemId,
        subscription_id: subscriptionId,
        plan_slug: "pro",
        status: "past_due",
        payer_user_id: null,
        payer_organization_id: org,
      }]);
      const [stored] = await db.sql`
        select status, payer_user_id, payer_organization_id from public.billing_subscriptions`;
      assert.deepEqual({ ...stored }, {
        status: "past_due",
        payer_user_id: null,
        payer_organization_id: org,
      });
    });
  });
}

Deno.test("an email.created delivery is answered ignored and leaves no trace of its body in the ledger, the tables or the log", async () => {
  await using db = await scratchDatabase();
  await using store = await openTransport("direct", db.url);
  const secret = newSecret();
  const logged: LogEntry[] = [];
  await using server = serveHandler(store, secret, (entry) => logged.push(entry));
  const email = await example("email.created");
  // What the body holds that must go nowhere: the code, the recipient, the subject.
  const secrets = ["123456", email.data.to_email_address, "verification", email.data.id];
  for (const type of ["email.created", "sms.created", "session.created"]) {
    const event = type === "email.created" ? email : await example(type);
    const { status, body } = await deliver(server.url, event, { secret, id: `msg_${type}` });
    assert.deepEqual({ status, body }, { status: 200, body: { outcome: "ignored" } }, type);
  }

  const logText = JSON.stringify(logged);
  assert.equal(logged.length, 3);
  assert.deepEqual(logged.map(({ type, clerk_id }) => ({ type, clerk_id })), [
    { type: "email.created", clerk_id: null },
    { type: "sms.created", clerk_id: null },
    { type: "session.created", clerk_id: null },
  ]);
  // Every row of every table of the sync, as text.
  const tables = await db.sql`
    select format('%I.%I', schemaname, tablename) as name from pg_catalog.pg_tables
    where schemaname in ('public', 'clerk_sync')`;
  let stored = "";
  for (const { name } of tables) {
    const [row] = await db.sql.unsafe(
      `select coalesce(string_agg(t::text, ' '), '') as text from ${name} t`,
    );
    stored += ` ${row!.text}`;
  }
  assert.ok(stored.includes("msg_email.created"), "the ledger has the delivery's id");
  for (const secretText of secrets) {
    assert.ok(!logText.includes(secretText), `the log holds ${secretText}`);
    assert.ok(!stored.includes(secretText), `the database holds ${secretText}`);
  }
});

Deno.test("npm run send builds every billing and waitlist event type, paid by --org or by --id", async () => {
  await using db = await scratchDatabase();
  await using store = await openTransport("direct", db.url);
  const secret = newSecret();
  await using server = serveHandler(store, secret);
  const types = [
    "subscription.created",
    "subscriptionItem.created",
    ...ITEM_TYPES.filter((type) => type !== "subscriptionItem.updated"),
    "subscriptionItem.updated",
    "subscription.pastDue",
    "paymentAttempt.created",
    "paymentAttempt.updated",
    "waitlistEntry.created",
    "waitlistEntry.updated",
  ];
  const run = async (args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "cli/local/send.ts", ...args, "--url", server.url],
      cwd: new URL("..", import.meta.url),
      env: { CLERK_WEBHOOK_SECRET: secret },
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.ok(output.success, `${text}${new TextDecoder().decode(output.stderr)}`);
    return [...text.matchAll(/→ (\d{3}) (\S+)$/gm)].map((match) => `${match[1]} ${match[2]}`);
  };
  assert.deepEqual(
    await run([...types, "--org", "org_paying"]),
    types.map(() => "200 applied"),
  );
  assert.deepEqual(await run(["subscription.created", "--id", "user_paying", "--plan", "team"]), [
    "200 applied",
  ]);
  const rows = await db.sql`
    select s.clerk_id, s.status, s.payer_user_id, s.payer_organization_id,
      (select array_agg(i.plan_slug || ':' || i.status order by i.plan_slug)
       from public.billing_subscription_items i where i.subscription_id = s.clerk_id) as items
    from public.billing_subscriptions s order by 1`;
  assert.deepEqual([...rows], [
    {
      clerk_id: "csub_org_paying",
      status: "past_due",
      payer_user_id: null,
      payer_organization_id: "org_paying",
      items: ["pro-plan:past_due"],
    },
    {
      clerk_id: "csub_user_paying",
      status: "active",
      payer_user_id: "user_paying",
      payer_organization_id: null,
      items: ["team:active"],
    },
  ]);
  const [others] = await db.sql`
    select (select status from public.billing_payment_attempts) as attempt,
      (select status from public.waitlist_entries) as entry`;
  assert.deepEqual({ ...others }, { attempt: "paid", entry: "invited" });
});
