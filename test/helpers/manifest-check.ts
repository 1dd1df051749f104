// What publint and @arethetypeswrong/cli would say about the packed package, checked here
// because neither is a dependency of this project (the shared install is fixed): every path that
// package.json points to (main, types, exports, bin) is in the tarball; in every conditions
// object the `types` conditions (`types@<6` included) come first (TypeScript takes the first
// matching condition) and `default` last;
// every JavaScript target has types beside it; every relative import of a shipped .d.ts
// resolves to a shipped .d.ts; the license file ships.

export interface Manifest {
  readonly main?: string;
  readonly types?: string;
  readonly exports?: unknown;
  readonly bin?: Record<string, string>;
  readonly license?: string;
  readonly engines?: Record<string, string>;
}

const strip = (path: string): string => path.replace(/^\.\//, '');

/** Errors found in `pkg` given the tarball's file list (paths relative to the package root) and its .d.ts texts. */
export function checkManifest(pkg: Manifest, files: ReadonlySet<string>, declarations: ReadonlyMap<string, string>): string[] {
  const errors: string[] = [];
  const shipped = (where: string, path: string): void => {
    if (!files.has(strip(path))) errors.push(`${where}: ${path} is not in the tarball`);
  };
  if (pkg.main) shipped('main', pkg.main);
  if (pkg.types) shipped('types', pkg.types);
  else errors.push('no top-level "types" (TypeScript with moduleResolution node10 finds no types)');
  for (const [name, path] of Object.entries(pkg.bin ?? {})) shipped(`bin ${name}`, path);
  if (!pkg.engines?.['node']) errors.push('no engines.node');
  if (pkg.license && ![...files].some((f) => /^LICEN[CS]E(\.|$)/i.test(f))) errors.push(`license ${pkg.license} declared but no LICENSE file ships`);

  const walk = (where: string, target: unknown): void => {
    if (typeof target === 'string') { shipped(where, target); return; }
    if (target === null || typeof target !== 'object') { errors.push(`${where}: unexpected ${JSON.stringify(target)}`); return; }
    const keys = Object.keys(target);
    const isSubpaths = keys.every((k) => k.startsWith('.'));
    if (!isSubpaths) {
      const isTypes = (key: string) => key === 'types' || key.startsWith('types@');
      const firstOther = keys.findIndex((k) => !isTypes(k));
      if (firstOther >= 0 && keys.slice(firstOther).some(isTypes)) errors.push(`${where}: the "types" conditions must come first`);
      if (keys.includes('default') && keys[keys.length - 1] !== 'default') errors.push(`${where}: "default" must be the last condition`);
      const js = (target as Record<string, unknown>)['default'];
      if (typeof js === 'string' && /\.[cm]?js$/.test(js) && !keys.includes('types')) errors.push(`${where}: ${js} has no "types" beside it`);
    }
    for (const [key, value] of Object.entries(target)) walk(`${where} > ${key}`, value);
  };
  walk('exports', pkg.exports);

  for (const [file, text] of declarations) {
    for (const match of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const spec = match[1]!;
      const dir = file.split('/').slice(0, -1);
      for (const part of spec.split('/')) {
        if (part === '..') dir.pop();
        else if (part !== '.') dir.push(part);
      }
      const resolved = dir.join('/').replace(/\.js$/, '.d.ts');
      if (!files.has(resolved)) errors.push(`${file}: import '${spec}' resolves to ${resolved}, not in the tarball`);
    }
  }
  return errors;
}
