/**
 * The 'previews' request: a set of images as the network sees them (decoded, preprocessed to the
 * model's input, drawn back as pictures), without touching the current image's run. Views use
 * them to show a data set, and to let the user mark boxes in the network's input coordinates.
 */
import { ArgumentError } from '../../errors.js';
import { inputToImage, type RgbaImage } from '../../deconv/render.js';
import type { AnalysisContext, NamedImage } from '../context.js';

export interface PreviewsRequest {
  type: 'previews';
  images: NamedImage[];
}

export interface PreviewsResultMessage {
  /** One per image, the network input's size ([C, H, W] of the model: W x H pixels). */
  pictures: RgbaImage[];
  names: string[];
  ms: number;
}

/** At most this many per request: a preview is for a person to look at. */
export const MAX_PREVIEWS = 256;

export async function previewsHandler(context: AnalysisContext, request: PreviewsRequest): Promise<PreviewsResultMessage> {
  const t0 = performance.now();
  const { images } = request;
  if (!Array.isArray(images) || images.length === 0) throw new ArgumentError('previews needs at least one image');
  if (images.length > MAX_PREVIEWS) throw new ArgumentError(`previews takes at most ${MAX_PREVIEWS} images, got ${images.length}`);
  const { model } = context;
  const pictures: RgbaImage[] = [];
  for (let i = 0; i < images.length; i++) {
    const pixels = await context.decode(images[i].source, images[i].name);
    pictures.push(inputToImage(model.preprocess(pixels), model.network.preprocess));
    context.progress((i + 1) / images.length);
    await context.checkpoint();
  }
  return { pictures, names: images.map((im) => im.name), ms: performance.now() - t0 };
}
