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
 *
 * Local files (Node, the CLI): readLocalFile/openLocalFile take `node:fs` from the caller, and
 * read only regular files up to a cap per kind (LOCAL_FILE_LIMITS), never a device or a FIFO.
 */
import { AbortError, ArgumentError, FetchError } from '../errors.js';

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

/**
 * Local files (Node; the caller passes `node:fs`, so this module stays browser-safe). A path the
 * CLI or a Node loader reads must be a regular file no larger than the cap of its kind: a
 * device (/dev/zero, /dev/urandom), a directory, a FIFO or a socket is refused by `stat`
 * before it is opened (a FIFO with no writer would block `open` for ever), the file is opened
 * non-blocking and checked again on its descriptor (the path may change between the two), and
 * at most the size `stat` gave is read, so a file that grows while it is read cannot grow the
 * memory either.
 */
export type LocalFileKind = 'image' | 'npy' | 'model';

/** The largest file of each kind that is read, in bytes (see README, "Command line"). */
export const LOCAL_FILE_LIMITS: Readonly<Record<LocalFileKind, number>> = {
  /** A PNG or JPEG: 256 MiB (a 100 MP photo is far smaller; the decoded pixels have their own budget). */
  image: 256 * 2 ** 20,
  /** A .npy input tensor: 1 GiB (a batch of 1,700 ImageNet images [3, 224, 224] in float32). */
  npy: 2 ** 30,
  /** An ONNX model: 2 GiB, the most a protobuf file can hold (VGG-19 is 548 MB). */
  model: 2 ** 31,
};

const KIND_NAMES: Record<LocalFileKind, string> = { image: 'an image', npy: 'a .npy tensor', model: 'a model' };

export interface LocalStats {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}

/** The part of `node:fs` these functions use. */
export interface LocalFs {
  statSync(path: string): LocalStats;
  openSync(path: string, flags: number): number;
  fstatSync(fd: number): LocalStats;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
  constants: { O_RDONLY: number; O_NONBLOCK?: number };
}

/** What a path is when it is not a regular file, for messages. */
function fileType(s: LocalStats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;
}

/** Why a file system call failed, in words. */
export function fsReason(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'ELOOP': return 'too many symbolic links';
    case 'ENAMETOOLONG': return 'the path is too long';
    case 'ENOSPC': return 'no space left on the device';
    default: return (e as Error)?.message?.split('\n')[0] ?? String(e);
  }
}

function checkStats(s: LocalStats, path: string, kind: LocalFileKind, limit: number): void {
  if (!s.isFile()) {
    throw new ArgumentError(`cannot read ${path}: it is ${fileType(s)}, not a file (${KIND_NAMES[kind]} must be a regular file)`);
  }
  if (s.size > limit) {
    throw new ArgumentError(`cannot read ${path}: it is ${mib(s.size)}, over the ${mib(limit)} limit for ${KIND_NAMES[kind]}`);
  }
}

/**
 * Open `path` for reading as a file of `kind`: a descriptor and the size to read. Throws an
 * ArgumentError naming the path for a missing file, a non-regular file or one over the limit.
 * The caller closes the descriptor.
 */
export function openLocalFile(fs: LocalFs, path: string, kind: LocalFileKind,
                              limit = LOCAL_FILE_LIMITS[kind]): { fd: number; size: number } {
  let before: LocalStats;
  try {
    before = fs.statSync(path);
  } catch (e) {
    throw Object.assign(new ArgumentError(`cannot read ${path}: ${fsReason(e)}`), { code: (e as { code?: string }).code });
  }
  checkStats(before, path, kind, limit);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw Object.assign(new ArgumentError(`cannot read ${path}: ${fsReason(e)}`), { code: (e as { code?: string }).code });
  }
  try {
    const s = fs.fstatSync(fd);
    checkStats(s, path, kind, limit);
    return { fd, size: s.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The bytes of a regular file of `kind` at `path`, at most its limit (see openLocalFile). */
export function readLocalFile(fs: LocalFs, path: string, kind: LocalFileKind, limit = LOCAL_FILE_LIMITS[kind]): Uint8Array {
  const { fd, size } = openLocalFile(fs, path, kind, limit);
  try {
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      let n: number;
      try {
        n = fs.readSync(fd, bytes, at, Math.min(size - at, 2 ** 30), at);
      } catch (e) {
        throw new ArgumentError(`cannot read ${path}: ${fsReason(e)}`);
      }
      if (n === 0) break; // shorter than stat said (truncated meanwhile): what is there
      at += n;
    }
    return at === size ? bytes : bytes.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}
