/** The URL of the running CDN script (in its worker: the page's script URL), set by the bundle's intro. */
declare const __zfScriptUrl: string;
/** The function that wraps the whole built CDN script (rollup.config.mjs): its source is the script. */
declare const __zfBundle: () => void;
/** The web components, built apart (rollup.config.mjs) and evaluated only when called: in a page. */
declare module 'zf:elements' {
  export function defineElements(): typeof import('../../components/index.js');
}
