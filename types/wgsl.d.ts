// Shader sources are imported as text (esbuild's text loader; test/ts-hooks.mjs when unbundled).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
