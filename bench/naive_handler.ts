/**
 * The naive handler, a reference for the benchmark only, never to deploy: the seed's
 * design (a Next.js route: verify with svix, then Prisma's `user.create`, `user.update`
 * or `user.delete` on its own `User` table, bench/naive_table.ts) with no validation, no
 * ledger and no ordering guard, so a redelivery fails or duplicates work and an old event
 * overwrites a newer one. Each event is one statement, as Prisma 5 sends it to
 * PostgreSQL: a single `insert`, `update … where "clerkId"` or `delete … where "clerkId"`,
 * each `returning` the record; Prisma fills `createdAt` and `updatedAt` itself (`now()`
 * and `@updatedAt` are evaluated by its engine), and an update or delete that finds no
 * row is its error P2025, answered 500.
 *
 * Served like the function (`deno run --allow-net --allow-env`, `PORT`), over postgres.js
 * with named prepared statements (as Prisma's engine uses) and a pool of
 * {@linkcode POOL} connections, as the database owner.
 */
import postgres from "postgres";
import { Webhook } from "svix";
import { NAIVE_TABLE } from "./naive_table.ts";

/**
 * The pool: 10, as the function's benchmark pool and the database ceiling's, so that the
 * ratios compare the designs, not pool sizes. Prisma's default `connection_limit` is
 * num_cpus × 2 + 1: 5 on this 2-core machine, 33 on a 16-core one; with 2 cores shared by
 * client, servers and PostgreSQL, 5 or 10 connections make no difference to what the
 * database absorbs, and 10 keeps the handler from queueing in its pool at 16 and 64 in
 * flight where Prisma on a larger machine would not either.
 */
const POOL = 10;

const secret = Deno.env.get("CLERK_WEBHOOK_SECRET");
const databaseUrl = Deno.env.get("DATABASE_URL");
if (secret === undefined || databaseUrl === undefined) {
  throw new Error("Set CLERK_WEBHOOK_SECRET and DATABASE_URL");
}
const webhook = new Webhook(secret);
const sql = postgres(databaseUrl, { max: POOL, onnotice: () => {} });
const table = sql(NAIVE_TABLE);

interface ClerkUser {
  id: string;
  email_addresses?: { email_address: string }[];
  first_name?: string | null;
  last_name?: string | null;
  image_url?: string | null;
}

/** Prisma's P2025: "An operation failed because it depends on one or more records that were required but not found." */
class RecordNotFound extends Error {}

/** Writes the event as the seed's route does; resolves to the record Prisma returns. */
async function write(type: string, user: ClerkUser): Promise<unknown> {
  // As in the seed: the first address, whichever is primary.
  const email = user.email_addresses?.[0]?.email_address ?? null;
  const now = new Date();
  let rows: postgres.RowList<postgres.Row[]>;
  switch (type) {
    case "user.created":
      rows = await sql`
        insert into ${table}
          ("clerkId", "email", "firstName", "lastName", "imageUrl", "createdAt", "updatedAt")
        values (
          ${user.id}, ${email}, ${user.first_name ?? null}, ${user.last_name ?? null},
          ${user.image_url ?? null}, ${now}, ${now}
        )
        returning "id", "clerkId", "email", "firstName", "lastName", "imageUrl", "createdAt",
          "updatedAt"`;
      break;
    case "user.updated":
      rows = await sql`
        update ${table} set
          "email" = ${email},
          "firstName" = ${user.first_name ?? null},
          "lastName" = ${user.last_name ?? null},
          "imageUrl" = ${user.image_url ?? null},
          "updatedAt" = ${now}
        where ("clerkId" = ${user.id} and 1=1)
        returning "id", "clerkId", "email", "firstName", "lastName", "imageUrl", "createdAt",
          "updatedAt"`;
      break;
    case "user.deleted":
      rows = await sql`
        delete from ${table} where ("clerkId" = ${user.id} and 1=1)
        returning "id", "clerkId", "email", "firstName", "lastName", "imageUrl", "createdAt",
          "updatedAt"`;
      break;
    default:
      return null;
  }
  if (rows.length === 0) throw new RecordNotFound(`No ${NAIVE_TABLE} with clerkId ${user.id}`);
  return rows[0];
}

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, async (request) => {
  const body = await request.text();
  const headers = Object.fromEntries(request.headers);
  try {
    webhook.verify(body, headers);
  } catch {
    return new Response("Invalid signature", { status: 400 });
  }
  const { type, data } = JSON.parse(body);
  try {
    await write(type, data);
  } catch (error) {
    console.error(error);
    return new Response("Error", { status: 500 });
  }
  console.log(`Webhook ${headers["svix-id"]} ${type} ${data.id}`);
  return new Response("OK");
});
