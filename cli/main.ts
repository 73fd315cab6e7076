/**
 * zf-vis, the command-line face of zf-visualizer. `main` returns the exit status: 0 on success,
 * 2 with one line `zf-vis: <message>` on stderr for bad usage or bad input (never a stack
 * trace), 1 with the stack for anything unexpected (a bug).
 */
import { readFileSync } from 'node:fs';
import { ZFError } from '../src/index.js';
import { UsageError } from './args.js';
import { classify, CLASSIFY_HELP } from './commands/classify.js';
import { forward, FORWARD_HELP } from './commands/forward.js';
import { project, PROJECT_HELP } from './commands/project.js';

type Command = (argv: string[], out: (text: string) => void) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string; summary: string }> = {
  classify: { run: classify, help: CLASSIFY_HELP, summary: 'print the most probable classes of an image' },
  forward: { run: forward, help: FORWARD_HELP, summary: "write a layer's activation as .npy, with its stats" },
  project: { run: project, help: PROJECT_HELP, summary: 'project a feature map back to pixels (deconvnet), as .npy and PNG' },
};

const HELP = `zf-vis: see inside a convolutional network (ZFNet, AlexNet) from the command line

Usage: zf-vis <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help; zf-vis <command> --help shows a command's options
  -V, --version  print the version

Inputs are PNG/JPEG images (--image) or .npy float32 NCHW tensors (--input); tensors are
written as .npy. Exit status: 0 success, 2 bad usage or bad input, 1 internal error.`;

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
