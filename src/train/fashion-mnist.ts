/** Fashion-MNIST from Debian's dataset-fashion-mnist package (Node only). */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { ArgumentError } from '../errors.js';
import { parseIdx, type IdxArray } from './idx.js';

export const DATASET_DIR = '/usr/share/datasets/fashion-mnist';

export interface Split { images: IdxArray; labels: Uint8Array }

async function read(dir: string, file: string): Promise<Uint8Array> {
  try {
    return gunzipSync(await readFile(`${dir}/${file}`));
  } catch (e) {
    throw new ArgumentError(`cannot read ${dir}/${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
      'install Fashion-MNIST with: apt-get install -y dataset-fashion-mnist');
  }
}

export async function loadSplit(dir: string, split: 'train' | 't10k'): Promise<Split> {
  const images = parseIdx(await read(dir, `${split}-images-idx3-ubyte.gz`), `${split} images`);
  const labels = parseIdx(await read(dir, `${split}-labels-idx1-ubyte.gz`), `${split} labels`);
  if (images.dims[0] !== labels.dims[0]) throw new ArgumentError(`${split}: ${images.dims[0]} images but ${labels.dims[0]} labels`);
  return { images, labels: labels.data };
}
