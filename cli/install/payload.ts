/**
 * What `npm run install-into` puts into a Supabase project: the function's modules with
 * a `deno.json` of its own (the imports it uses, pinned as in this repository's
 * import_map.json), and the migrations under their own names. Every module is checked to
 * import only its siblings and those packages: nothing may reach back into this repository.
 */

/** The function's folder in a Supabase project, as `supabase functions deploy` finds it. */
export const FUNCTION_DIR = "supabase/functions/clerk-webhook";
/** Where `supabase db push` takes the migrations from. */
export const MIGRATIONS_DIR = "supabase/migrations";

/** One file of the install: its path in the project (with `/`) and its bytes. */
export interface InstallFile {
  path: string;
  content: Uint8Array;
}

/** The import specifiers of a module: static imports and exports, and `import("…")`. */
function specifiers(source: string): string[] {
  const found = [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gm),
    ...source.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ];
  return found.map((match) => match[1]!);
}

/** The `deno.json` of the installed function: its imports, exactly pinned. */
function denoJson(imports: Record<string, string>): string {
  const config = {
    imports,
    // A lock file written by a newer local Deno (version 5) cannot be read by the
    // hosted runtime's Deno 2.1.4; the imports are pinned exactly instead.
    lock: false,
    // npm: specifiers resolve from Deno's cache, not from an app's node_modules.
    nodeModulesDir: "none",
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The files of the install, read from the repository at `root`, sorted by path. */
export async function readPayload(root: URL): Promise<InstallFile[]> {
  const importMap = JSON.parse(
    await Deno.readTextFile(new URL("import_map.json", root)),
  ) as { imports: Record<string, string> };
  const functionDir = new URL("functions/clerk-webhook/", root);
  const files: InstallFile[] = [];
  const imports: Record<string, string> = {};
  for await (const entry of Deno.readDir(functionDir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    const content = await Deno.readFile(new URL(entry.name, functionDir));
    for (const specifier of specifiers(new TextDecoder().decode(content))) {
      if (specifier.startsWith("./") && !specifier.slice(2).includes("/")) continue;
      const pinned = importMap.imports[specifier];
      if (pinned === undefined) {
        throw new Error(
          `functions/clerk-webhook/${entry.name} imports "${specifier}", which is neither a ` +
            "sibling module nor a package of import_map.json: it would not resolve once installed",
        );
      }
      imports[specifier] = pinned;
    }
    files.push({ path: `${FUNCTION_DIR}/${entry.name}`, content });
  }
  const sorted = Object.fromEntries(Object.entries(imports).sort(([a], [b]) => a < b ? -1 : 1));
  files.push({
    path: `${FUNCTION_DIR}/deno.json`,
    content: new TextEncoder().encode(denoJson(sorted)),
  });
  for await (const entry of Deno.readDir(new URL("supabase/migrations/", root))) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    files.push({
      path: `${MIGRATIONS_DIR}/${entry.name}`,
      content: await Deno.readFile(new URL(`supabase/migrations/${entry.name}`, root)),
    });
  }
  return files.sort((a, b) => a.path < b.path ? -1 : 1);
}
