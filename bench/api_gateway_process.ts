/**
 * The API gateway stand-in (dev/stand_ins/api_gateway.ts) as its own process, in front of
 * the benchmark's PostgREST, so that the Supabase transport crosses the process
 * boundaries it crosses on the platform. Reads POSTGREST_URL, JWT_SECRET, SECRET_KEY and
 * PORT; prints "Listening on <url>".
 */
import { startApiGatewayStandIn } from "../dev/stand_ins/api_gateway.ts";

function required(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`Missing environment variable "${name}"`);
  return value;
}

const gateway = startApiGatewayStandIn({
  postgrestUrl: required("POSTGREST_URL"),
  jwtSecret: required("JWT_SECRET"),
  secretKey: required("SECRET_KEY"),
  port: Number(required("PORT")),
});
console.log(`Listening on ${gateway.url}/`);
