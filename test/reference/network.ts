/**
 * A naive forward pass over a Network, op by op with the scalar references (float64), sharing
 * no code with the engine except the shape arithmetic it is checking against.
 */
import type { Network } from '../../src/graph/layers.js';
import { namedLayers } from '../../src/graph/names.js';
import type { LayerWeights } from '../../src/engine/model.js';
import {
  avgpoolRef, conv2dRef, denseRef, lrnRef, maxpoolRef, reluRef, softmaxRef,
} from './kernels.js';

/** Output of every op for a batch of N, as flat float64 arrays. */
export function referenceForward(net: Network, weights: (layer: string) => LayerWeights,
                                 input: Float32Array, N: number): Float64Array[] {
  const names = new Map(namedLayers(net).map((l) => [l.op, l.name]));
  const outs: Float64Array[] = [];
  let x: Float64Array = Float64Array.from(input);
  let [C, H, W] = net.input;
  let flat = 0; // > 0 once the tensor is [N, flat]
  net.ops.forEach((op, i) => {
    switch (op.kind) {
      case 'conv': {
        const OH = Math.floor((H + op.pads[0] + op.pads[2] - op.kernel[0]) / op.stride[0]) + 1;
        const OW = Math.floor((W + op.pads[1] + op.pads[3] - op.kernel[1]) / op.stride[1]) + 1;
        const w = weights(names.get(i)!);
        x = conv2dRef({ N, C, H, W, OC: op.filters, KH: op.kernel[0], KW: op.kernel[1], SH: op.stride[0],
          SW: op.stride[1], PT: op.pads[0], PL: op.pads[1], OH, OW, groups: op.groups }, x, w.weight, w.bias);
        [C, H, W] = [op.filters, OH, OW];
        break;
      }
      case 'maxpool': case 'avgpool': {
        const round = op.ceil ? Math.ceil : Math.floor;
        let OH = round((H + op.pads[0] + op.pads[2] - op.kernel[0]) / op.stride[0]) + 1;
        let OW = round((W + op.pads[1] + op.pads[3] - op.kernel[1]) / op.stride[1]) + 1;
        if (op.ceil && (OH - 1) * op.stride[0] >= H + op.pads[0]) OH--;
        if (op.ceil && (OW - 1) * op.stride[1] >= W + op.pads[1]) OW--;
        const g = { planes: N * C, H, W, KH: op.kernel[0], KW: op.kernel[1], SH: op.stride[0], SW: op.stride[1],
          PT: op.pads[0], PL: op.pads[1], PB: op.pads[2], PR: op.pads[3], OH, OW };
        x = op.kind === 'maxpool' ? maxpoolRef(g, x).y : avgpoolRef(g, op.countIncludePad, x);
        [H, W] = [OH, OW];
        break;
      }
      case 'relu': x = reluRef(x); break;
      case 'lrn': x = lrnRef(N, C, H * W, op.size, op.alpha, op.beta, op.bias, x); break;
      case 'dense': {
        const I = flat || C * H * W;
        const w = weights(names.get(i)!);
        x = denseRef(N, I, op.units, x, w.weight, w.bias);
        flat = op.units;
        break;
      }
      case 'flatten': flat = flat || C * H * W; break;
      case 'dropout': break;
      case 'softmax': x = softmaxRef(N, flat || C * H * W, x); break;
    }
    outs.push(x);
  });
  return outs;
}
