/**
 * Where model files come from, browser-safe (no Node imports): a URL (fetched as a stream, with
 * progress, cancellable, and kept in Cache Storage for offline use) or a File/Blob.
 *
 * Offline cache: a model fetched once from an http(s) URL is stored in the Cache Storage cache
 * `zf-visualizer-models` (where the page has one: secure contexts) and served from it on later
 * loads without touching the network, so it loads with the network off. Files are treated as
 * immutable: a new version of a model should get a new URL, or be loaded with `cache: false`
 * once after `clearModelCache(url)`. Where Cache Storage is missing (Node, insecure pages) or
 * fails (quota), loading works as without a cache.
 *
 * Memory: a download of known length (Content-Length) is written into one buffer of that size
 * as it arrives; of unknown length, the chunks are joined once at the end.
 */
import { AbortError, FetchError } from '../errors.js';

export const MODEL_CACHE = 'zf-visualizer-models';

export interface SourceOptions {
  /** Called with the fraction of the file read so far (0-1). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Use the offline cache for URLs (default true). */
  cache?: boolean;
}

export interface Fetched {
  bytes: Uint8Array;
  fromCache: boolean;
  /** Remove this URL from the offline cache (after the file turned out to be unusable). */
  forget(): Promise<void>;
}

function abortError(): AbortError {
  return new AbortError('loading the model was cancelled');
}

async function openCache(): Promise<Cache | undefined> {
  try {
    if (typeof caches === 'undefined') return undefined;
    return await caches.open(MODEL_CACHE);
  } catch {
    return undefined; // Insecure context, storage disabled, ...: work without a cache.
  }
}

/** Remove a URL (or every model) from the offline cache. */
export async function clearModelCache(url?: string | URL): Promise<void> {
  if (typeof caches === 'undefined') return;
  if (url === undefined) {
    await caches.delete(MODEL_CACHE);
    return;
  }
  const cache = await openCache();
  await cache?.delete(resolveUrl(url));
}

export function resolveUrl(url: string | URL): string {
  const base = typeof location !== 'undefined' ? location.href : undefined;
  try {
    return new URL(String(url), base).href;
  } catch {
    throw new FetchError(`'${String(url)}' is not a valid URL`);
  }
}

/** The bytes of a model at `url`: from the offline cache if there, else downloaded (and cached). */
export async function fetchModel(url: string | URL, options: SourceOptions = {}): Promise<Fetched> {
  const href = resolveUrl(url);
  const { signal } = options;
  if (signal?.aborted) throw abortError();
  const cacheable = options.cache !== false && /^https?:/i.test(href);
  const cache = cacheable ? await openCache() : undefined;
  const forget = async () => { try { await cache?.delete(href); } catch { /* best effort */ } };

  let response: Response | undefined;
  try {
    response = await cache?.match(href);
  } catch {
    response = undefined;
  }
  const fromCache = !!response;
  let stored: Promise<void> | undefined;
  if (!response) {
    try {
      response = await fetch(href, { signal });
    } catch (e) {
      if (signal?.aborted) throw abortError();
      throw new FetchError(`cannot download ${href}: ${(e as Error)?.message ?? String(e)}` +
        `${cache ? ' (and it is not in the offline cache)' : ''}`);
    }
    if (!response.ok) {
      throw new FetchError(`cannot download ${href}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    // Store a copy while we read ours (the tee streams to the cache as the bytes arrive).
    if (cache) stored = cache.put(href, response.clone()).catch(() => undefined);
  }
  const length = Number(response.headers.get('content-length'));
  let bytes: Uint8Array;
  try {
    bytes = await readStream(response.body, Number.isSafeInteger(length) && length > 0 ? length : undefined, options);
  } catch (e) {
    if (stored) { await stored; await forget(); }
    throw e;
  }
  await stored;
  return { bytes, fromCache, forget };
}

/** The bytes of a File or Blob, read as a stream with progress. */
export async function readBlob(blob: Blob, options: SourceOptions = {}): Promise<Uint8Array> {
  if (options.signal?.aborted) throw abortError();
  if (typeof blob.stream !== 'function') return new Uint8Array(await blob.arrayBuffer());
  return readStream(blob.stream(), blob.size, options);
}

/**
 * Read a byte stream into one array: preallocated when the length is known (growing if the
 * stream turns out longer), else the chunks joined once at the end.
 */
export async function readStream(body: ReadableStream<Uint8Array> | null, total: number | undefined,
                                 options: SourceOptions): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const { signal, onProgress } = options;
  const reader = body.getReader();
  const onAbort = () => { reader.cancel().catch(() => undefined); };
  signal?.addEventListener('abort', onAbort);
  let buffer = total !== undefined ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw abortError();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw abortError();
        throw new FetchError(`the download failed after ${received} bytes: ${(e as Error)?.message ?? String(e)}`);
      }
      if (signal?.aborted) throw abortError();
      if (result.done) break;
      const chunk = result.value;
      if (buffer) {
        if (received + chunk.length > buffer.length) {
          // Longer than announced (a compressed transfer): grow once by half again.
          const grown = new Uint8Array(Math.max(received + chunk.length, Math.ceil(buffer.length * 1.5)));
          grown.set(buffer.subarray(0, received));
          buffer = grown;
        }
        buffer.set(chunk, received);
      } else {
        chunks.push(chunk);
      }
      received += chunk.length;
      if (total) onProgress?.(Math.min(1, received / total));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (buffer) return received === buffer.length ? buffer : buffer.subarray(0, received);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  chunks.length = 0;
  return out;
}
