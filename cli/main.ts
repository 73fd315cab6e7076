/**
 * zf-vis, the command-line face of zf-visualizer. `main` returns the exit status: 0 on success,
 * 2 with one line `zf-vis: <message>` on stderr for bad usage or bad input (never a stack
 * trace), 1 with the stack for anything unexpected (a bug). A closed stdout pipe ends it quietly
 * with 0 (quietOnClosedPipe).
 */
import { readFileSync } from 'node:fs';
import { ZFError } from '../src/index.js';
import { UsageError } from './args.js';
import { classify, CLASSIFY_HELP } from './commands/classify.js';
import { forward, FORWARD_HELP } from './commands/forward.js';
import { project, PROJECT_HELP } from './commands/project.js';
import { gradcamCommand, GRADCAM_HELP } from './commands/gradcam.js';
import { occlude, OCCLUDE_HELP } from './commands/occlude.js';
import { scan, SCAN_HELP } from './commands/scan.js';
import { invariance, INVARIANCE_HELP } from './commands/invariance.js';
import { correspondence, CORRESPONDENCE_HELP } from './commands/correspondence.js';
import { diagnose, DIAGNOSE_HELP } from './commands/diagnose.js';
import { evolution, EVOLUTION_HELP } from './commands/evolution.js';
import { exportModel, EXPORT_HELP } from './commands/export.js';

type Command = (argv: string[], out: (text: string) => void) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string; summary: string }> = {
  classify: { run: classify, help: CLASSIFY_HELP, summary: 'print the most probable classes of an image' },
  forward: { run: forward, help: FORWARD_HELP, summary: "write a layer's activation as .npy, with its stats" },
  project: { run: project, help: PROJECT_HELP, summary: 'project a feature map back to pixels (deconvnet), as .npy and PNG' },
  gradcam: { run: gradcamCommand, help: GRADCAM_HELP, summary: 'Grad-CAM of a class at a layer, as .npy and an overlay PNG' },
  occlude: { run: occlude, help: OCCLUDE_HELP, summary: 'class probability, a map\'s activation and the top class as an occluder slides (Fig. 7)' },
  scan: { run: scan, help: SCAN_HELP, summary: 'top-9 activations per feature map over a folder of images, projected, as sheets (Fig. 2)' },
  invariance: { run: invariance, help: INVARIANCE_HELP, summary: 'feature distances and class probability under translation, scale, rotation (Fig. 5)' },
  correspondence: { run: correspondence, help: CORRESPONDENCE_HELP, summary: 'consistency of occluded object parts across images, Delta per layer (Fig. 8)' },
  diagnose: { run: diagnose, help: DIAGNOSE_HELP, summary: 'conv1 filters, RMS, dead filters, spectra, layer-2 features; two models side by side (Fig. 6)' },
  evolution: { run: evolution, help: EVOLUTION_HELP, summary: 'strongest activations of features across training snapshots, projected (Fig. 4)' },
  export: { run: exportModel, help: EXPORT_HELP, summary: 'write a model (default zfnet-mini) as an ONNX file' },
};

const HELP = `zf-vis: see inside a convolutional network (ZFNet, AlexNet) from the command line

Usage: zf-vis <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help; zf-vis <command> --help shows a command's options
  -V, --version  print the version

Inputs are PNG/JPEG images (--image) or .npy float32 NCHW tensors (--input); tensors are
written as .npy. Exit status: 0 success (also when the reader of stdout closes it early),
2 bad usage or bad input, 1 internal error.`;

export function version(): string {
  try {
    // dist/cli.js and cli/main.ts both sit one level below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

const print = (text: string) => { process.stdout.write(`${text}\n`); };

/**
 * A reader that goes away (`zf-vis classify --json | head -c 10`) ends the CLI quietly: EPIPE on
 * stdout exits at once with status 0 (nothing more can be said to anyone: the reader took what
 * it wanted), and on stderr it is ignored (the exit status still tells). Any other stream error
 * is a bug and is thrown as before. Installed by the zf-vis command (cli/zf-vis.js), once.
 */
export function quietOnClosedPipe(): void {
  if (pipeHandlers) return;
  pipeHandlers = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

let pipeHandlers = false;

export async function main(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      throw new UsageError(`missing command; commands: ${Object.keys(COMMANDS).join(', ')} (see zf-vis --help)`);
    }
    if (first === '--help' || first === '-h') {
      print(HELP);
      return 0;
    }
    if (first === '--version' || first === '-V') {
      print(version());
      return 0;
    }
    if (first === 'help') {
      const cmd = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
      if (rest[0] !== undefined && !cmd) throw unknownCommand(rest[0]);
      print(cmd ? cmd.help : HELP);
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (see zf-vis --help)`);
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!command) throw unknownCommand(first);
    return await command.run(rest, print);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ZFError) {
      process.stderr.write(`zf-vis: ${oneLine(e.message)}\n`);
      return 2;
    }
    process.stderr.write(`zf-vis: internal error (please report it)\n${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

function unknownCommand(name: string): UsageError {
  return new UsageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')} (see zf-vis --help)`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
