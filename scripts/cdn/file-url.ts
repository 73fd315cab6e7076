/**
 * file:// pages. Browsers refuse fetch() of file: URLs (in pages and workers alike), but a page
 * opened from file:// can still run classic scripts beside it. So the build writes a `.js` twin
 * of every file in dist/models/ (rollup.config.mjs), which registers the file's bytes (base64)
 * under its own URL in self.ZF_FILES; the page loads a twin with a script tag, and the worker
 * asks the page for it. The CDN build maps `node:fs/promises` here, so the engine's file: branch
 * (src/models/default-model.ts) reads through this too.
 */
export const FILE_REQUEST = 'zf-file-request';
export const FILE_REPLY = 'zf-file-reply';

interface Reply { kind: typeof FILE_REPLY; id: number; bytes?: Uint8Array; error?: string }

const scope = self as unknown as { ZF_FILES?: Record<string, string>; postMessage(message: unknown): void };

/** In a page: the bytes of `href` (a file: URL), from its `.js` twin. */
export function loadTwin(href: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `${href}.js`;
    script.onload = () => {
      script.remove();
      const files = scope.ZF_FILES ?? {};
      const base64 = files[href];
      delete files[href];
      if (base64 === undefined) reject(new Error(`${href}.js did not register ${href}`));
      else resolve(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    };
    script.onerror = () => {
      script.remove();
      reject(new Error(`browsers cannot fetch file: URLs, and ${href}.js could not be loaded either`));
    };
    document.head.append(script);
  });
}

let nextId = 0;
const waiting = new Map<number, { resolve(bytes: Uint8Array): void; reject(error: Error): void }>();

/** In the worker: ask the page for the bytes of `href`. */
export function askPage(href: string): Promise<Uint8Array> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    scope.postMessage({ kind: FILE_REQUEST, id, href });
  });
}

/** In the worker: settle a request if `data` is the page's reply (true), else false. */
export function takeReply(data: unknown): boolean {
  const reply = data as Reply | undefined;
  if (reply?.kind !== FILE_REPLY) return false;
  const w = waiting.get(reply.id);
  waiting.delete(reply.id);
  if (reply.bytes) w?.resolve(reply.bytes);
  else w?.reject(new Error(reply.error ?? 'no reply'));
  return true;
}

/** The bytes of a file: URL, in a page or in the worker (node:fs/promises' readFile, for the browser). */
export function readFile(url: URL | string): Promise<Uint8Array> {
  const href = String(url instanceof URL ? url.href : url);
  return typeof document !== 'undefined' ? loadTwin(href) : askPage(href);
}

const TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', json: 'application/json' };

/** A fetch() that reads file: URLs as above (installed in the worker when the script is on file:). */
export function fileFetch(fetch: typeof globalThis.fetch, base: string): typeof globalThis.fetch {
  return (input, init) => {
    let href = '';
    try {
      href = new URL(typeof input === 'string' || input instanceof URL ? input : input.url, base).href;
    } catch { /* leave it to fetch */ }
    if (!href.startsWith('file:')) return fetch(input, init);
    const type = TYPES[href.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
    return readFile(href).then((bytes) => new Response(bytes as BlobPart, { headers: { 'content-type': type } }));
  };
}
