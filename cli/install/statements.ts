/**
 * What one migration statement does to the objects the clash scan follows, read from its
 * first words: it creates, renames, moves to another schema or drops a relation (table,
 * view, materialized view, foreign table, sequence), a schema or a function (procedure);
 * and which of a given set of objects it refers to. Names are PostgreSQL's: unquoted ones
 * folded to lower case, quoted ones kept, an unqualified one in schema `public`.
 *
 * Followed: `create [or replace] … [if not exists]`, `alter … [if exists] … rename to`,
 * `alter … set schema`, `alter schema … rename to`, `drop … [if exists] a, b [cascade]`,
 * and the statements of a `do` block, as if each ran (its conditions are not evaluated).
 * Not followed: SQL run through `execute` (a string), function bodies (they run later, if
 * called: a migration that creates a function and calls it is not followed into it),
 * `set search_path` (an unqualified name is always taken as `public`), the elements of
 * `create schema … create table …`, types, domains and indexes (which share a relation's
 * namespace), and function overloads: a function is followed by its name, so dropping one
 * overload counts as dropping them all.
 */
import { splitStatements, type SqlStatement } from "./sql.ts";

/** What kind of object a name is. */
export type ObjectKind = "relation" | "schema" | "function";

/** An object by name: `schema` is "" for a schema itself. */
export interface ObjectName {
  kind: ObjectKind;
  schema: string;
  name: string;
}

/** One change a statement makes, at `offset` in its file. */
export type Effect =
  | {
    op: "create";
    object: ObjectName;
    /** How the statement calls it: "table", "view", "schema", "function", … */
    what: string;
    /** `if not exists`: nothing happens when it exists. */
    ifNotExists: boolean;
    offset: number;
  }
  | { op: "rename"; object: ObjectName; to: ObjectName; offset: number }
  | { op: "drop"; object: ObjectName; offset: number };

/** A name a statement refers to, at `offset` in its file. */
export interface Reference {
  object: ObjectName;
  offset: number;
}

/** The key of `object`, one per object: `relation public.users`, `schema clerk`. */
export function objectKey(object: ObjectName): string {
  return object.kind === "schema"
    ? `schema ${object.name}`
    : `${object.kind} ${object.schema}.${object.name}`;
}

/** `object` as SQL names it: `public.users`, `clerk`. */
export function qualifiedName(object: ObjectName): string {
  const quote = (name: string) =>
    /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
  return object.kind === "schema"
    ? quote(object.name)
    : `${quote(object.schema)}.${quote(object.name)}`;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;
const QNAME = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
/** A function's argument list, one level of nested parentheses (`numeric(10, 2)`). */
const ARGS = String.raw`\s*\((?:[^()]|\([^()]*\))*\)`;
const RELATION = String.raw`table|view|materialized\s+view|foreign\s+table|sequence`;
const FUNCTION = String.raw`function|procedure|routine`;

/** `ident` as PostgreSQL names it: quoted kept (`""` undoubled), unquoted in lower case. */
function identifier(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

/** The object `kind` named `qname` (`a.b`, `"A".b`, `b`). */
function named(kind: ObjectKind, qname: string): ObjectName {
  const parts = [...qname.matchAll(new RegExp(IDENT, "g"))].map((match) => identifier(match[0]));
  if (kind === "schema") return { kind, schema: "", name: parts[0]! };
  return parts.length === 1
    ? { kind, schema: "public", name: parts[0]! }
    : { kind, schema: parts[0]!, name: parts[1]! };
}

/** `relation`, `schema` or `function` for a statement's object word (`materialized view`). */
function kindOf(word: string): ObjectKind {
  const lower = word.toLowerCase();
  if (lower === "schema") return "schema";
  return new RegExp(`^(?:${FUNCTION})$`).test(lower) ? "function" : "relation";
}

const CREATE_RELATION = new RegExp(
  String.raw`^create\s+(?:or\s+replace\s+)?(?:(?:global|local)\s+)?((?:temp|temporary)\s+)?` +
    String.raw`(?:unlogged\s+)?(?:recursive\s+)?(${RELATION})\s+(if\s+not\s+exists\s+)?(${QNAME})`,
  "i",
);
const CREATE_SCHEMA = new RegExp(
  String.raw`^create\s+schema\s+(if\s+not\s+exists\s+)?(?:authorization\s+(${IDENT})|(${IDENT}))`,
  "i",
);
const CREATE_FUNCTION = new RegExp(
  String.raw`^create\s+(?:or\s+replace\s+)?(function|procedure)\s+(${QNAME})\s*\(`,
  "i",
);
const ALTER = new RegExp(
  String.raw`^alter\s+(${RELATION}|schema|${FUNCTION})\s+(?:if\s+exists\s+)?(?:only\s+)?` +
    String.raw`(${QNAME})(?:${ARGS})?\s+(?:rename\s+to\s+(${IDENT})|set\s+schema\s+(${IDENT}))`,
  "i",
);
const DROP = new RegExp(
  String.raw`^drop\s+(${RELATION}|schema|${FUNCTION})\s+(?:if\s+exists\s+)?`,
  "i",
);
const DROP_ITEM = new RegExp(
  String.raw`\s*(${QNAME})(?:${ARGS})?\s*(,|$|(?=cascade|restrict))`,
  "iy",
);
const DO_BODY = /^do\s+(?:language\s+\S+\s+)?(\$[^$]*\$)([^]*)\1/i;

/** The effects of one statement whose code starts at `code` (offset `offset`). */
function statementEffects(code: string, offset: number): Effect[] {
  let match = CREATE_RELATION.exec(code);
  if (match) {
    // A temporary table lives in the session's own schema and goes with it.
    if (match[1] !== undefined) return [];
    return [{
      op: "create",
      object: named("relation", match[4]!),
      what: match[2]!.toLowerCase().replace(/\s+/g, " "),
      ifNotExists: match[3] !== undefined,
      offset,
    }];
  }
  match = CREATE_SCHEMA.exec(code);
  if (match) {
    return [{
      op: "create",
      object: named("schema", match[2] ?? match[3]!),
      what: "schema",
      ifNotExists: match[1] !== undefined,
      offset,
    }];
  }
  match = CREATE_FUNCTION.exec(code);
  if (match) {
    return [{
      op: "create",
      object: named("function", match[2]!),
      what: match[1]!.toLowerCase(),
      ifNotExists: false,
      offset,
    }];
  }
  match = ALTER.exec(code);
  if (match) {
    const object = named(kindOf(match[1]!), match[2]!);
    const to = match[3] !== undefined
      ? { ...object, name: identifier(match[3]) }
      : { ...object, schema: identifier(match[4]!) };
    return [{ op: "rename", object, to, offset }];
  }
  match = DROP.exec(code);
  if (match) {
    const kind = kindOf(match[1]!);
    const effects: Effect[] = [];
    DROP_ITEM.lastIndex = match[0].length;
    for (let item = DROP_ITEM.exec(code); item; item = DROP_ITEM.exec(code)) {
      effects.push({ op: "drop", object: named(kind, item[1]!), offset });
      if (item[2] !== ",") break;
    }
    return effects;
  }
  return [];
}

/**
 * The effects of `statement`, in order: its own, or those of the statements of its
 * `do` block (each from its first `create`, `alter` or `drop`, as if it ran).
 */
export function effectsOf(statement: SqlStatement): Effect[] {
  const block = DO_BODY.exec(statement.code);
  if (!block) return statementEffects(statement.code, statement.offset);
  const bodyStart = block[0].indexOf(block[1]!) + block[1]!.length;
  const body = statement.text.slice(bodyStart, bodyStart + block[2]!.length);
  return splitStatements(body, statement.offset + bodyStart).flatMap((inner) => {
    const at = inner.code.search(/\b(?:create|alter|drop)\b/i);
    return at === -1 ? [] : statementEffects(inner.code.slice(at), inner.offset + at);
  });
}

/**
 * Which of `known` (relations and functions) `statement` refers to, each once: by a
 * qualified name anywhere in its code (SQL function bodies included, PL/pgSQL ones not), or unqualified (schema
 * `public`) as a relation after `from`, `join`, `references`, `table`, `on`, `into`,
 * `update` or `only`, or as a function call. A statement with `if exists` refers to nothing
 * (it does nothing when the object is missing), nor does one to what it creates.
 */
export function referencesOf(
  statement: SqlStatement,
  known: Map<string, ObjectName>,
): Reference[] {
  // A PL/pgSQL body is only checked when it runs; an SQL one when it is created.
  const plpgsql = /^create\s+(?:or\s+replace\s+)?(?:function|procedure)\b/i.test(statement.code) &&
    /\blanguage\s+'?plpgsql\b/i.test(statement.code);
  const code = plpgsql
    ? statement.code.replace(/(\$[^$\s]*\$)[^]*?\1/g, (body) => body.replace(/[^\n]/g, " "))
    : statement.code;
  if (/^(?:alter|drop)\s[^;]*?\bif\s+exists\b/i.test(code)) return [];
  const own = new Set(effectsOf(statement).map((effect) => objectKey(effect.object)));
  const found = new Map<string, Reference>();
  const note = (object: ObjectName, index: number) => {
    const key = objectKey(object);
    if (known.has(key) && !own.has(key) && !found.has(key)) {
      found.set(key, { object: known.get(key)!, offset: statement.offset + index });
    }
  };
  const qualified = new RegExp(String.raw`(?<![\w$."])(${IDENT})\s*\.\s*(${IDENT})`, "g");
  for (const match of code.matchAll(qualified)) {
    for (const kind of ["relation", "function"] as const) {
      note(named(kind, `${match[1]}.${match[2]}`), match.index);
    }
  }
  const relation = new RegExp(
    String.raw`\b(?:from|join|references|table|on|into|update|only)\s+(${IDENT})(?![\w$"]|\s*\.)`,
    "gi",
  );
  for (const match of code.matchAll(relation)) {
    note(named("relation", match[1]!), match.index + match[0].length - match[1]!.length);
  }
  const call = new RegExp(String.raw`(?<![\w$."])(${IDENT})(?!\s*\.)\s*\(`, "g");
  for (const match of code.matchAll(call)) note(named("function", match[1]!), match.index);
  return [...found.values()].sort((a, b) => a.offset - b.offset);
}
