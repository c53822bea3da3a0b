/**
 * The naive handler, a reference for the benchmark only, never to deploy: the original
 * design's route (verify with svix, then a plain insert / update / delete) with no
 * validation, no ledger and no ordering guard, so a redelivery fails or duplicates work
 * and an old event overwrites a newer one. Served like the function
 * (`deno run --allow-net --allow-env`, `PORT`), over the same transport (postgres.js,
 * a pool of 10), connected as the database owner so that it may write public.users.
 */
import postgres from "postgres";
import { Webhook } from "svix";

const secret = Deno.env.get("CLERK_WEBHOOK_SECRET");
const databaseUrl = Deno.env.get("DATABASE_URL");
if (secret === undefined || databaseUrl === undefined) {
  throw new Error("Set CLERK_WEBHOOK_SECRET and DATABASE_URL");
}
const webhook = new Webhook(secret);
const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });

interface ClerkUser {
  id: string;
  email_addresses?: { email_address: string }[];
  first_name?: string | null;
  last_name?: string | null;
  image_url?: string | null;
  created_at?: number;
  updated_at?: number;
}

async function write(type: string, user: ClerkUser, svixId: string, at: Date): Promise<void> {
  // As in the original design: the first address, whichever is primary.
  const email = user.email_addresses?.[0]?.email_address ?? null;
  switch (type) {
    case "user.created":
      await sql`
        insert into public.users (
          clerk_id, email, first_name, last_name, image_url,
          clerk_created_at, clerk_updated_at, clerk_event_at, svix_id
        )
        values (
          ${user.id}, ${email}, ${user.first_name ?? null}, ${user.last_name ?? null},
          ${user.image_url ?? null}, ${new Date(user.created_at ?? 0)},
          ${new Date(user.updated_at ?? 0)}, ${at}, ${svixId}
        )`;
      break;
    case "user.updated":
      await sql`
        update public.users set
          email = ${email},
          first_name = ${user.first_name ?? null},
          last_name = ${user.last_name ?? null},
          image_url = ${user.image_url ?? null},
          clerk_updated_at = ${new Date(user.updated_at ?? 0)},
          clerk_event_at = ${at},
          svix_id = ${svixId}
        where clerk_id = ${user.id}`;
      break;
    case "user.deleted":
      await sql`delete from public.users where clerk_id = ${user.id}`;
      break;
  }
}

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, async (request) => {
  const body = await request.text();
  const headers = Object.fromEntries(request.headers);
  try {
    webhook.verify(body, headers);
  } catch {
    return new Response("Invalid signature", { status: 400 });
  }
  const { type, data, timestamp } = JSON.parse(body);
  try {
    await write(type, data, headers["svix-id"]!, new Date(timestamp));
  } catch (error) {
    console.error(error);
    return new Response("Error", { status: 500 });
  }
  console.log(`Webhook ${headers["svix-id"]} ${type} ${data.id}`);
  return new Response("OK");
});
