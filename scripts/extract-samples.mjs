// Write sample images for the README and the demo: the first two test images of each
// Fashion-MNIST class (Debian's dataset-fashion-mnist, MIT licence) as 28x28 grayscale PNGs.
// Usage: node scripts/extract-samples.mjs [dataset dir] [out dir]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';

const dir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = process.argv[3] ?? 'models/samples';
const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const PER_CLASS = 2;

const images = gunzipSync(readFileSync(`${dir}/t10k-images-idx3-ubyte.gz`));
const labels = gunzipSync(readFileSync(`${dir}/t10k-labels-idx1-ubyte.gz`));
if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('not IDX image/label files');
const count = images.readUInt32BE(4), rows = images.readUInt32BE(8), cols = images.readUInt32BE(12);
mkdirSync(out, { recursive: true });
const taken = new Array(CLASSES.length).fill(0);
for (let i = 0; i < count && taken.some((n) => n < PER_CLASS); i++) {
  const label = labels[8 + i];
  if (taken[label] >= PER_CLASS) continue;
  taken[label] += 1;
  const png = new PNG({ width: cols, height: rows, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const pixels = images.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols);
  for (let p = 0; p < rows * cols; p++) {
    png.data[p * 4] = png.data[p * 4 + 1] = png.data[p * 4 + 2] = pixels[p];
    png.data[p * 4 + 3] = 255;
  }
  const name = `${out}/${CLASSES[label]}-${taken[label]}.png`;
  writeFileSync(name, PNG.sync.write(png, { colorType: 0 }));
  console.log(`${name} (test image ${i})`);
}
