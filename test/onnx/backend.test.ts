// ONNX's own backend node tests through our engine: every test_*/ of onnx/backend/test/data/node
// (Debian's libonnx-testdata; CI installs it) whose ops are all ops of CNN classifiers and whose
// tensors we can feed, loaded with loadModel and run with forward. Each ends as
//   pass     ran, and every output matches within ONNX's tolerance (rtol 1e-3; atol 1e-5, looser
//            than ONNX's 1e-7 for our float32 kernels' summation order)
//   refused  a typed error (ModelFormatError, ArgumentError, ...) from loading or running: an op,
//            attribute or shape the engine does not support yet, said as such
//   wrong    ran, but a number or the element count differs: a bug
//   crashed  an untyped error (Error, TypeError, RangeError, a wasm trap, KernelError): a bug
// The engine is moving from chains to DAGs with many more ops, so this harness asks nothing of
// the importer beyond loadModel / forward / run.activation: the pass count rises as ops land,
// wrong and crashed must stay 0. One Vitest test runs them all and prints the summary before
// it asserts (the summary shows on failure too).
import { expect, test } from 'vitest';
import { KernelError, ZFError, loadModel, type LoadOptions, type Run, type Model } from '../../src/index.js';
import {
  DataType, findTestdata, listCases, readCase, typeName, TESTDATA_DEFAULT, type BackendCase,
} from '../helpers/onnx-testdata.js';

/** The ops of CNN classifiers: a test is selected when its model uses these alone. */
const CNN_OPS: readonly string[] = [
  'Conv', 'Relu', 'LRN', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Dropout', 'Flatten',
  'Reshape', 'Gemm', 'MatMul', 'Softmax', 'Identity', 'Constant', 'Add', 'Sub', 'Mul', 'Div', 'Sum', 'Concat',
  'Split', 'Slice', 'BatchNormalization', 'Clip', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Elu', 'Pad', 'ReduceMean', 'Transpose', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast',
];

/** Fraction of the selected tests that must pass (170 of 178 when raised; the rest are refused with a reason). */
const MIN_PASS_RATE = 0.95;

/** pass when |got - want| <= RTOL * |want| + ATOL for every element. */
const RTOL = 1e-3;
const ATOL = 1e-5;
const MAX_RANK = 4;
const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

type Status = 'pass' | 'refused' | 'wrong' | 'crashed';
const STATUSES: readonly Status[] = ['pass', 'refused', 'wrong', 'crashed'];

interface Outcome {
  status: Status;
  /** Refused / crashed: the error's name and first line; wrong: what differs. */
  detail: string;
  /** Largest |got - want| over the outputs (pass and wrong). */
  worst?: number;
  /** The data input was fed as [1, ...dims] (the plain shape was refused). */
  batched?: boolean;
}

type Constant = { shape: number[]; data: Float32Array | BigInt64Array | Int32Array };

// --- selection ---

/** Why a test is not selected (a category, for the counts), or undefined when it is. */
function exclusion(c: BackendCase): { reason: string; ops?: string[] } | undefined {
  const outside = [...new Set(c.model.nodes
    .filter((n) => !DEFAULT_DOMAINS.has(n.domain) || !CNN_OPS.includes(n.opType))
    .map((n) => (DEFAULT_DOMAINS.has(n.domain) ? n.opType : `${n.domain}.${n.opType}`)))];
  if (outside.length) return { reason: 'an op outside the CNN list', ops: outside };
  if (c.inputs.length === 0) return { reason: 'no graph input to forward' };
  for (const [i, { value, tensor }] of c.inputs.entries()) {
    const role = i === 0 ? 'data input' : 'constant input';
    if (value.kind !== 'tensor' || !tensor) return { reason: `${role} is a ${value.kind}, not a tensor` };
    const type = tensor.dataType || value.elemType;
    const allowed = type === DataType.FLOAT || (i > 0 && type === DataType.INT64);
    if (!allowed) return { reason: `${role} of type ${typeName(type)}` };
    if (tensor.dims.length > MAX_RANK) return { reason: `${role} of rank > ${MAX_RANK}` };
  }
  for (const { value, tensor } of c.outputs) {
    if (value.kind !== 'tensor' || !tensor) return { reason: `output is a ${value.kind}, not a tensor` };
    const type = tensor.dataType || value.elemType;
    if (type !== DataType.FLOAT) return { reason: `output of type ${typeName(type)}` };
    if (tensor.dims.length > MAX_RANK) return { reason: `output of rank > ${MAX_RANK}` };
  }
  return undefined;
}

// --- running one test ---

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0];
}

/** Typed errors are refusals; anything else (and a trapped kernel) is a bug. */
function isRefusal(e: unknown): boolean {
  return e instanceof ZFError && !(e instanceof KernelError);
}

function failure(e: unknown, stage: string): Outcome {
  const name = e instanceof Error ? e.name : typeof e;
  if (isRefusal(e)) return { status: 'refused', detail: `${name}: ${firstLine(e)}` };
  // Where in our code it went wrong: the first stack frame in src/.
  const frame = e instanceof Error ? e.stack?.split('\n').find((l) => /[\\/]src[\\/]/.test(l))?.trim() : undefined;
  return { status: 'crashed', detail: `${stage}: ${name}: ${firstLine(e)}${frame ? ` (${frame})` : ''}` };
}

function compare(got: Float32Array, want: Float32Array): { ok: boolean; worst: number; report: string } {
  let worst = 0;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= RTOL * Math.abs(w) + ATOL;
    const d = Number.isNaN(w) && Number.isNaN(g) ? 0 : g === w ? 0 : Math.abs(g - w);
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
    if (!ok) {
      bad += 1;
      if (first < 0) first = i;
    }
  }
  return {
    ok: bad === 0, worst,
    report: bad === 0 ? '' : `${bad}/${want.length} elements differ, first at [${first}]: got ${got[first]}, want ${want[first]}`,
  };
}

async function runCase(c: BackendCase): Promise<Outcome> {
  const constants: Record<string, Constant> = {};
  for (const { value, tensor } of c.inputs.slice(1)) {
    constants[value.name] = { shape: tensor!.dims, data: tensor!.data as Float32Array | BigInt64Array };
  }
  // `constants` is being added to LoadOptions by the importer's rewrite; until then it is
  // ignored and the tests that need it are refused by the importer.
  const options: LoadOptions = {};
  if (Object.keys(constants).length) Object.assign(options, { constants });
  let model: Model;
  try {
    model = await loadModel(c.modelBytes, options);
  } catch (e) {
    return failure(e, 'loadModel');
  }

  const input = c.inputs[0].tensor!;
  const data = input.data as Float32Array;
  let run: Run;
  let batched = false;
  try {
    run = await model.forward({ shape: [...input.dims], data });
  } catch (e) {
    if (!isRefusal(e)) return failure(e, `forward [${input.dims.join(', ')}]`);
    // The engine's mode where the whole tensor is one batch item.
    try {
      run = await model.forward({ shape: [1, ...input.dims], data });
      batched = true;
    } catch (e2) {
      if (!isRefusal(e2)) return failure(e2, `forward [1, ${input.dims.join(', ')}]`);
      // The plain shape's refusal says most, unless it was about the shape alone.
      const second = failure(e2, 'forward');
      return /shape/i.test(firstLine(e)) ? second : failure(e, 'forward');
    }
  }

  let worst = 0;
  const wrong: string[] = [];
  for (const { value, tensor } of c.outputs) {
    let got: Float32Array;
    try {
      got = run.activation(value.name).data;
    } catch (e) {
      return { ...failure(e, `run.activation('${value.name}')`), batched };
    }
    const want = tensor!.data as Float32Array;
    if (got.length !== want.length) {
      wrong.push(`${value.name}: ${got.length} values, want ${want.length} ([${tensor!.dims.join(', ')}])`);
      continue;
    }
    const cmp = compare(got, want);
    worst = Math.max(worst, cmp.worst);
    if (!cmp.ok) wrong.push(`${value.name}: ${cmp.report}, worst |diff| ${cmp.worst.toExponential(2)}`);
  }
  return wrong.length
    ? { status: 'wrong', detail: wrong.join('; '), worst, batched }
    : { status: 'pass', detail: '', worst, batched };
}

// --- the summary ---

/** A refusal message without its particulars: names, shapes and numbers. */
function normalise(message: string): string {
  return message
    .replace(/'[^']*'/g, "'…'")
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\[[^\]]*\]/g, '[…]')
    .replace(/\b\d+(\.\d+)?(e[-+]?\d+)?\b/gi, 'N')
    .trim();
}

function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

test('ONNX backend node tests (libonnx-testdata) through loadModel and forward', async () => {
  const root = findTestdata();
  if (!root) {
    throw new Error(`ONNX backend test data not found at ${process.env.ONNX_TESTDATA || TESTDATA_DEFAULT}: ` +
      'install it with `apt-get install libonnx-testdata` (CI does), or set ONNX_TESTDATA to its data/node folder');
  }
  const t0 = performance.now();
  const names = listCases(root);
  const selected: BackendCase[] = [];
  const excluded: { name: string; reason: string; ops?: string[] }[] = [];
  for (const name of names) {
    const c = readCase(root, name);
    if (typeof c === 'string') {
      excluded.push({ name, reason: c });
      continue;
    }
    const why = exclusion(c);
    if (why) excluded.push({ name, ...why });
    else selected.push(c);
  }

  const results: { c: BackendCase; outcome: Outcome }[] = [];
  const lines: string[] = [];
  try {
    for (const c of selected) {
      let outcome: Outcome;
      try {
        outcome = await runCase(c);
      } catch (e) {
        outcome = failure(e, 'harness');
      }
      results.push({ c, outcome });
    }
  } finally {
    const seconds = (performance.now() - t0) / 1000;
    const count = (s: Status, rs = results) => rs.filter((r) => r.outcome.status === s).length;
    lines.push(`ONNX backend node tests in ${root}: ${names.length} tests, ${selected.length} selected ` +
      `(all ops in the CNN list, float32 tensors of rank <= ${MAX_RANK}; int64 only as constant inputs)`);
    lines.push('Not selected:');
    for (const [reason, n] of countBy(excluded, (e) => e.reason)) lines.push(`  ${String(n).padStart(4)}  ${reason}`);
    const outsideOps = countBy(excluded.flatMap((e) => e.ops ?? []), (op) => op);
    lines.push(`  ops outside the list (tests using each): ${outsideOps.map(([op, n]) => `${op} ${n}`).join(', ')}`);
    lines.push('');
    const rows = CNN_OPS.map((op) => {
      const rs = results.filter((r) => r.c.model.nodes.some((n) => n.opType === op && DEFAULT_DOMAINS.has(n.domain)));
      return [op, rs.length, ...STATUSES.map((s) => count(s, rs))];
    });
    lines.push(table(['op (tests using it)', 'selected', ...STATUSES], rows));
    lines.push('');
    const passes = results.filter((r) => r.outcome.status === 'pass');
    const worstPass = passes.reduce((m, r) => Math.max(m, r.outcome.worst ?? 0), 0);
    const batched = results.filter((r) => r.outcome.batched).length;
    lines.push(`worst |diff| among passes: ${worstPass.toExponential(2)}; ` +
      `${batched} ran with the data input as [1, ...dims]; ${seconds.toFixed(1)} s`);
    for (const s of ['wrong', 'crashed'] as const) {
      const list = results.filter((r) => r.outcome.status === s);
      lines.push(`${s} (${list.length}):`);
      for (const r of list) lines.push(`  ${r.c.name}: ${r.outcome.detail}`);
    }
    const refusals = countBy(results.filter((r) => r.outcome.status === 'refused'), (r) => normalise(r.outcome.detail));
    lines.push(`most common refusals (${refusals.length} distinct):`);
    for (const [m, n] of refusals.slice(0, 30)) lines.push(`  ${String(n).padStart(4)}  ${m}`);
    lines.push(`refused: ${results.filter((r) => r.outcome.status === 'refused').map((r) => r.c.name).join(', ')}`);
    lines.push(`ONNX backend tests: ${selected.length} selected, ${count('pass')} pass, ${count('refused')} refused, ` +
      `${count('wrong')} wrong, ${count('crashed')} crashed`);
    console.log(lines.join('\n'));
  }

  const by = (s: Status) => results.filter((r) => r.outcome.status === s);
  // The selection must not come out empty (a broken reader or an emptied list would pass vacuously).
  expect(selected.length, 'no ONNX backend test was selected').toBeGreaterThan(0);
  expect(by('wrong').map((r) => `${r.c.name}: ${r.outcome.detail}`), 'tests that ran but gave wrong numbers').toEqual([]);
  expect(by('crashed').map((r) => `${r.c.name}: ${r.outcome.detail}`), 'tests that crashed (untyped errors)').toEqual([]);
  expect(by('pass').length / selected.length, 'pass rate').toBeGreaterThanOrEqual(MIN_PASS_RATE);
}, 180_000);
