/**
 * The PostgREST stand-in (dev/postgrest_stand_in.ts) as its own process, so that the
 * benchmark's Supabase transport crosses a process boundary as it does on the platform.
 * Reads DATABASE_URL, JWT_SECRET, SECRET_KEY and PORT; prints "Listening on <url>".
 */
import { startPostgrestStandIn } from "../dev/postgrest_stand_in.ts";

function required(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`Missing environment variable "${name}"`);
  return value;
}

const standIn = await startPostgrestStandIn({
  databaseUrl: required("DATABASE_URL"),
  jwtSecret: required("JWT_SECRET"),
  secretKey: required("SECRET_KEY"),
  port: Number(required("PORT")),
});
console.log(`Listening on ${standIn.url}/`);
