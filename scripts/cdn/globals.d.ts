/** The URL of the running CDN script (or of its worker file), set by the bundle's intro. */
declare const __zfScriptUrl: string;
/** The built engine worker (an IIFE) as a string, from rollup.config.mjs's virtual module. */
declare module 'zf:worker-source' {
  const source: string;
  export default source;
}
