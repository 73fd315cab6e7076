/**
 * The default model's sample images (models/samples/, Fashion-MNIST test images). This file and
 * the built bundle (dist/components/) both sit two folders below the package root, so one
 * relative URL finds them from either.
 */
import type { SampleImage } from '../image-input/zf-image-input.js';

const NAMES = [
  'ankle-boot', 'bag', 'coat', 'dress', 'pullover', 'sandal', 'shirt', 'sneaker', 't-shirt', 'trouser',
];

/** Where the samples folder is (overridable through `<zf-visualizer>.samples`). */
const relative = '../../models/samples/'; // a variable, so bundlers leave it as it is
export const SAMPLES_URL = new URL(relative, import.meta.url).href;

/** Two of each class, ankle boot first. */
export function defaultSamples(base: string = SAMPLES_URL): SampleImage[] {
  return [1, 2].flatMap((n) => NAMES.map((name) => ({
    url: new URL(`${name}-${n}.png`, base).href,
    label: `${name === 't-shirt' ? 'T-shirt' : name.replace('-', ' ').replace(/^./, (c) => c.toUpperCase())} ${n}`,
  }))).sort((a, b) => a.url.localeCompare(b.url));
}
