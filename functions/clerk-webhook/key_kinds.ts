/**
 * The keys of Clerk and Supabase that end up in the wrong setting, and where each goes:
 * a Clerk secret key pasted as the webhook's signing secret, a publishable key as the
 * secret key, and so on. The settings that take a key say so before contacting anything.
 */

/** A kind of key: how it starts, and what it is for. */
interface KeyKind {
  pattern: RegExp;
  what: string;
}

const KINDS: readonly KeyKind[] = [
  {
    pattern: /^sk_(live|test)_/,
    what: "a Clerk secret key (sk_…), which is CLERK_SECRET_KEY of npm run backfill",
  },
  {
    pattern: /^pk_(live|test)_/,
    what: "a Clerk publishable key (pk_…), which is for the app's front end",
  },
  {
    pattern: /^whsec_/,
    what: "a webhook signing secret (whsec_…), which is CLERK_WEBHOOK_SECRET of the " +
      "clerk-webhook function",
  },
  {
    pattern: /^sb_(secret|publishable)_/,
    what: "a Supabase API key (sb_…), which the function gets from SUPABASE_SECRET_KEYS",
  },
];

/** What `value` is, as "a … key, which is for …", when it is a key of a known kind. */
export function describeKey(value: string): string | undefined {
  return KINDS.find(({ pattern }) => pattern.test(value))?.what;
}
