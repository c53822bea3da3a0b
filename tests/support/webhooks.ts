/** Signing deliveries as Svix does: the sender's module, shared with the tests. */
export * from "../../functions/cli/webhooks.ts";
