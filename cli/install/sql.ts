/**
 * Splits a migration's SQL into statements, as PostgreSQL's lexer sees their ends: a `;`
 * outside quoted strings (`'…'`, `E'…'` with backslash escapes), quoted identifiers,
 * dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`) and comments (`--`, nested `/* … *\/`).
 * It is not a parser: what each statement does is read from its first words
 * (install_statements.ts). A hand-written lexer rather than a library: the job needs
 * statement ends and positions only; split-only packages (dbgate-query-splitter) split
 * inside nested comments and `E'…'` strings, pgsql-ast-parser rejects statements it does
 * not model (`grant … on function`), and the real parser (libpg-query, WebAssembly) would be
 * one more dependency for every checkout to download for a few statement shapes.
 */

/** One statement of a migration. */
export interface SqlStatement {
  /** The statement as written, from its first word to before its `;`. */
  text: string;
  /**
   * The same characters with comments and the contents of quoted strings blanked (each
   * replaced by a space, newlines kept), so that a pattern matches code only. Quoted
   * identifiers and dollar-quoted bodies stay; a body's own comments and strings are blanked.
   */
  code: string;
  /** The offset of its first word in the text that was split (plus the `base` given). */
  offset: number;
}

const blank = (text: string) => text.replace(/[^\n]/g, " ");
const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** `text` with comments and string contents blanked, and the offsets of its top-level `;`. */
function lex(text: string): { code: string; ends: number[] } {
  let code = "";
  const ends: number[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const next = text[i + 1];
    if (char === "-" && next === "-") {
      const end = text.indexOf("\n", i);
      const stop = end === -1 ? text.length : end;
      code += blank(text.slice(i, stop));
      i = stop;
    } else if (char === "/" && next === "*") {
      let depth = 0;
      let j = i;
      do {
        if (text.startsWith("/*", j)) (depth += 1), (j += 2);
        else if (text.startsWith("*/", j)) (depth -= 1), (j += 2);
        else j += 1;
      } while (depth > 0 && j < text.length);
      code += blank(text.slice(i, j));
      i = j;
    } else if (char === "'") {
      // E'…' (or e'…') takes backslash escapes; a standard string only doubles the quote.
      const escapes = /[Ee]/.test(text[i - 1] ?? "") && !IDENTIFIER_CHAR.test(text[i - 2] ?? "");
      let j = i + 1;
      while (j < text.length) {
        if (escapes && text[j] === "\\") j += 2;
        else if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") break;
        else j += 1;
      }
      code += `'${blank(text.slice(i + 1, j))}${j < text.length ? "'" : ""}`;
      i = j + 1;
    } else if (char === '"') {
      let j = i + 1;
      while (j < text.length && !(text[j] === '"' && text[j + 1] !== '"')) {
        j += text[j] === '"' ? 2 : 1;
      }
      code += text.slice(i, j + 1);
      i = j + 1;
    } else if (char === "$" && !IDENTIFIER_CHAR.test(text[i - 1] ?? "")) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(text)?.[0];
      if (tag === undefined) {
        code += char;
        i += 1;
        continue;
      }
      const close = text.indexOf(tag, i + tag.length);
      const end = close === -1 ? text.length : close;
      const body = lex(text.slice(i + tag.length, end)).code;
      code += `${tag}${body}${close === -1 ? "" : tag}`;
      i = close === -1 ? text.length : close + tag.length;
    } else {
      if (char === ";") ends.push(i);
      code += char;
      i += 1;
    }
  }
  return { code, ends };
}

/**
 * The statements of `text`, in order, without empty ones (a lone `;`, comments only).
 * Offsets count from the start of `text`, plus `base`.
 */
export function splitStatements(text: string, base = 0): SqlStatement[] {
  const { code, ends } = lex(text);
  const statements: SqlStatement[] = [];
  let start = 0;
  for (const end of [...ends, text.length]) {
    const first = code.slice(start, end).search(/\S/);
    if (first !== -1) {
      const from = start + first;
      const to = from + code.slice(from, end).trimEnd().length;
      statements.push({
        text: text.slice(from, to),
        code: code.slice(from, to),
        offset: base + from,
      });
    }
    start = end + 1;
  }
  return statements;
}

/** The 1-based line of `offset` in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line += 1;
  }
  return line;
}
