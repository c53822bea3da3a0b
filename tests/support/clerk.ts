/** Clerk-shaped events for tests (the sender's builders), and Clerk's sample verbatim. */
export * from "../../functions/cli/clerk_events.ts";

/** Clerk's sample `user.created` event, verbatim from ../shared/fixtures/clerk. */
export const SAMPLE_TEXT = await Deno.readTextFile(
  new URL("../../../shared/fixtures/clerk/user.created.docs-sample.json", import.meta.url),
);
