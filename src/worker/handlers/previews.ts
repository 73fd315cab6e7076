/**
 * The 'previews' request: a set of images as the network sees them (decoded, preprocessed to the
 * model's input, drawn back as pictures), without touching the current image's run. Views use
 * them to show a data set, and to let the user mark boxes in the network's input coordinates.
 */
import { inputToImage, type RgbaImage } from '../../deconv/render.js';
import type { AnalysisContext, NamedImage } from '../context.js';
import { checkImages } from './images.js';

export interface PreviewsRequest {
  type: 'previews';
  images: NamedImage[];
}

export interface PreviewsResultMessage {
  /** One per image, the network input's size ([C, H, W] of the model: W x H pixels); null where it could not be read. */
  pictures: (RgbaImage | null)[];
  names: string[];
  /** The images that could not be read (a bad file, a URL that failed), and why: the others still come back. */
  failures: { name: string; message: string }[];
  ms: number;
}

/** At most this many per request: a preview is for a person to look at. */
export const MAX_PREVIEWS = 256;

export async function previewsHandler(context: AnalysisContext, request: PreviewsRequest): Promise<PreviewsResultMessage> {
  const t0 = performance.now();
  const images = checkImages(request.images, 'previews', 1, MAX_PREVIEWS);
  const { model } = context;
  const pictures: (RgbaImage | null)[] = [];
  const failures: { name: string; message: string }[] = [];
  for (let i = 0; i < images.length; i++) {
    try {
      const pixels = await context.decode(images[i].source, images[i].name);
      pictures.push(inputToImage(model.preprocess(pixels), model.network.preprocess));
    } catch (e) {
      if (context.signal.aborted) throw e;
      pictures.push(null);
      failures.push({ name: images[i].name, message: (e as Error).message });
    }
    context.progress((i + 1) / images.length);
    await context.checkpoint();
  }
  return { pictures, names: images.map((im) => im.name), failures, ms: performance.now() - t0 };
}
