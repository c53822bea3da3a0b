/**
 * The naive handler's own table, shaped like the seed's Prisma model, for the benchmark
 * only. The seed's `schema.prisma`:
 *
 * ```prisma
 * model User {
 *   id        String   @id @default(uuid())
 *   clerkId   String   @unique
 *   email     String   @unique
 *   firstName String?
 *   lastName  String?
 *   imageUrl  String?
 *   createdAt DateTime @default(now())
 *   updatedAt DateTime @updatedAt
 * }
 * ```
 *
 * {@linkcode createNaiveTable} creates what `prisma migrate` makes of it (the same
 * columns and index names: `User_pkey`, `User_clerkId_key`, `User_email_key`; `DateTime`
 * as `timestamp(3)`), except that the id is a `uuid` that the database fills with
 * `gen_random_uuid()` (Prisma's `@default(uuid())` is a `text` column filled by the
 * client): the row and the key are no wider than the sync's own. The benchmark
 * creates it after `supabase db push`, in its scratch database only: it is no part of
 * the project's migrations.
 */
import type postgres from "postgres";

/**
 * The table, schema-qualified, as postgres.js's identifier helper takes it:
 * `sql(NAIVE_TABLE)` is `"public"."User"`. The one place that spells its name.
 */
export const NAIVE_TABLE = "public.User";

/** The table's own name (unqualified), which Prisma's index names start with. */
const NAME = NAIVE_TABLE.split(".").at(-1)!;

/** `NAIVE_TABLE` quoted for SQL text, as Prisma quotes it. */
const QUOTED = NAIVE_TABLE.split(".").map((part) => `"${part}"`).join(".");

/** Creates the table through the owner connection `sql`, as Prisma's migration would. */
export async function createNaiveTable(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create table ${QUOTED} (
      "id" uuid not null default gen_random_uuid(),
      "clerkId" text not null,
      "email" text not null,
      "firstName" text,
      "lastName" text,
      "imageUrl" text,
      "createdAt" timestamp(3) not null default now(),
      "updatedAt" timestamp(3) not null,
      constraint "${NAME}_pkey" primary key ("id")
    );
    create unique index "${NAME}_clerkId_key" on ${QUOTED} ("clerkId");
    create unique index "${NAME}_email_key" on ${QUOTED} ("email");
  `);
}

/**
 * Inserts the users `clerkIds` (email `<clerk id>@example.com`, as the benchmark's events
 * carry) so that the naive handler finds the rows its updates and deletes expect.
 */
export async function seedNaiveTable(sql: postgres.Sql, clerkIds: string[]): Promise<void> {
  await sql`
    insert into ${sql(NAIVE_TABLE)} ("clerkId", "email", "firstName", "updatedAt")
    select id, id || '@example.com', 'Seeded', now() from unnest(${clerkIds}::text[]) as id`;
}

/** Empties the table. */
export async function emptyNaiveTable(sql: postgres.Sql): Promise<void> {
  await sql`truncate ${sql(NAIVE_TABLE)}`;
}
