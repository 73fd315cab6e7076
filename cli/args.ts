/**
 * Argument parsing for zf-vis: node:util parseArgs in strict mode, with its errors turned into
 * one-line usage messages, and the options every model/input command shares.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** --model, --image | --input, --seed, --backend, --preprocess, --json, --help. */
export const MODEL_INPUT_OPTIONS = {
  model: { type: 'string', short: 'm' },
  image: { type: 'string' },
  input: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  preprocess: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const MODEL_INPUT_HELP = `Model and input:
  -m, --model M         zfnet-mini (default: the trained Fashion-MNIST model), or zfnet,
                        alexnet, alexnet-bvlc, caffenet (built-in architectures with
                        seeded random weights), or FILE.onnx (an ONNX
                        model: the zoo's ZFNet-512, BVLC AlexNet, CaffeNet, a torchvision
                        export; its preset is chosen from the model)
      --seed N          seed of the random weights (default 1)
      --backend B       simd (default where supported) or scalar
      --image FILE      a PNG or JPEG, preprocessed by the model's preset
      --preprocess P    torchvision, caffe, none or grayscale (overrides the preset)
      --input FILE      a .npy float32 tensor [N, C, H, W], already preprocessed (used as is)
      --json            print machine-readable JSON
  -h, --help            show this help`;

/** The values parseArgs gives for `options`. */
export type Values<O extends Options> = ReturnType<typeof parseArgs<{
  args: string[]; options: O; strict: true; allowPositionals: false;
}>>['values'];

/**
 * parseArgs, strict, with errors rephrased for `command`. An option given twice is refused,
 * naming it (parseArgs alone keeps the last value silently), unless it is declared `multiple`.
 */
export function parse<O extends Options>(argv: string[], options: O, command: string): Values<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    throw new UsageError(rephrase(e, command));
  }
  const seen = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple) continue;
    const earlier = seen.get(token.name);
    if (earlier !== undefined) {
      const as = earlier === token.rawName ? '' : ` (as ${earlier} and ${token.rawName})`;
      throw new UsageError(`option --${token.name} is given more than once${as}; give it once (see zf-vis ${command} --help)`);
    }
    seen.set(token.name, token.rawName);
  }
  return parsed.values as Values<O>;
}

function rephrase(e: unknown, command: string): string {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']*)'/.exec(err.message ?? '')?.[1];
  const help = `(see zf-vis ${command} --help)`;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''} for ${command} ${help}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted ?? ''}' for ${command} ${help}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = /(--[\w-]+)/.exec(err.message ?? '')?.[1];
      const msg = err.message ?? '';
      if (/argument missing/.test(msg)) return `option ${option ?? quoted ?? ''} needs a value ${help}`;
      if (/ambiguous/.test(msg)) {
        return `option ${option ?? ''} needs a value (write a value that starts with '-' as ${option ?? '--option'}=-1) ${help}`;
      }
      if (/does not take an argument/.test(msg)) return `option ${option ?? quoted ?? ''} takes no value ${help}`;
      return `${msg.split('\n')[0]} ${help}`;
    }
    default:
      return `${(err.message ?? String(e)).split('\n')[0]} ${help}`;
  }
}

/** An option that must be one of `choices`. */
export function choice<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  }
  return value as T;
}

/** An integer option within [min, max]. */
export function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[-+]?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}; got '${value}'`);
  }
  return n;
}

/** An option that must be given. */
export function required(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${name} (see zf-vis ${command} --help)`);
  return value;
}
