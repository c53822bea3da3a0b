/**
 * The Clerk API stand-in (dev/stand_ins/clerk_api.ts) as its own process, holding USERS
 * users with an email, names and metadata each, so that the benchmark's backfill pages
 * over HTTP from another process, as from Clerk. Reads SECRET_KEY, USERS and PORT;
 * prints "Listening on <url>".
 */
import { startClerkApiStandIn } from "../dev/stand_ins/clerk_api.ts";

function required(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`Missing environment variable "${name}"`);
  return value;
}

const standIn = startClerkApiStandIn({
  secretKey: required("SECRET_KEY"),
  port: Number(required("PORT")),
});
const count = Number(required("USERS"));
const start = Date.now() - 86_400_000;
for (let i = 0; i < count; i++) {
  const id = `user_bench${String(i).padStart(8, "0")}`;
  standIn.put({
    id,
    email: `${id}@example.com`,
    firstName: "Bench",
    lastName: `User ${i}`,
    publicMetadata: { plan: "pro" },
    privateMetadata: { customer: `cus_${i}` },
    updatedAt: start + i,
  });
}
console.log(`Listening on ${standIn.url}`);
