/**
 * The one way the sync calls its database, whatever the transport: an SQL function of
 * schema `public` by name, with named arguments, answering JSON. The function, the
 * backfill, the status report and the local commands all go through it, each process
 * opening one.
 */

/** Options of one call. */
export interface CallOptions {
  /**
   * Aborts the call (the Data API's request). A direct connection cannot take back a
   * statement it sent: the entry point's deadline keeps such a call from committing.
   */
  signal?: AbortSignal;
}

/** A database the sync writes to and reads from. */
export interface Database {
  /**
   * Calls `public.<name>(<arg> => <value>, …)` and resolves to its result as JSON (for a
   * `void` function, nothing meaningful). Rejects with the error `storeError()` makes of
   * the failure.
   */
  call(name: string, args?: object, options?: CallOptions): Promise<unknown>;
  /** Releases its connections. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The statement that calls `public.<name>` with `args` in named notation, and its
 * parameters, for the transports that speak SQL (postgres.js, PGlite). Both describe the
 * statement first and send each value as the type PostgreSQL names for the argument of
 * that name (an object as jsonb, a string as timestamptz, …). `to_json` of the function's
 * row answers any return type.
 */
export function callStatement(
  name: string,
  args: object = {},
): { text: string; values: unknown[] } {
  const names = Object.keys(args);
  for (const identifier of [name, ...names]) {
    if (!IDENTIFIER.test(identifier)) throw new TypeError(`Not an SQL identifier: "${identifier}"`);
  }
  const list = names.map((arg, i) => `${arg} => $${i + 1}`).join(", ");
  return {
    text: `select to_json(r) as result from public.${name}(${list}) r`,
    values: Object.values(args),
  };
}
