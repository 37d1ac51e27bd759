/**
 * Verify (#16): how well `ideator verify` uses its slots. A workspace whose train.py takes about RUN_S seconds
 * (it sleeps, so the two cores of a small machine do not decide the figure) is verified with 3 baseline seeds and
 * 5 ideas — 8 runs — on 1 and on 2 slots, through the real command (sandbox, run folders, copies, binds).
 * Figure: verification wall time ÷ (Σ run time ÷ slots); 1 is perfect, goal ≤ 1.05. What it adds beyond the runs:
 * the sandbox probe, each run's folder (tmpfs mount, copy, binds, unmount) and the scheduling.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../server/src/cli';
import { parseVerifyLine, type VerifySummary } from '../src/core/verify';

const RUN_S = 1.5;
const IDEAS = 5;
const SEEDS = 3;

function train(base: number): string {
  return [
    'import os, time',
    "seed = int(os.environ.get('IDEATOR_SEED', '0'))",
    "rows = open('data/train.csv').read().splitlines()",
    `time.sleep(${RUN_S})`,
    `print(f'val_acc={${base} + 0.001 * (seed % 3):.4f}')`,
    '',
  ].join('\n');
}

async function verifyOnce(ws: string, ideasFile: string, slots: number): Promise<VerifySummary> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const err = new PassThrough();
  let errText = '';
  err.on('data', (c: Buffer) => (errText += c.toString()));
  const code = await main(['verify', '--json', '--workspace', ws, '--command', 'python train.py', '--ideas', ideasFile, '--slots', String(slots), '--baseline-seeds', String(SEEDS), '--budget-min', '10'], {
    stdout: out,
    stderr: err,
    stdin: new PassThrough(),
  });
  if (code !== 0) throw new Error(`ideator verify exited ${code}: ${errText.trim()}`);
  for (const line of text.split('\n').filter(Boolean)) {
    const e = parseVerifyLine(line);
    if (e.ok && e.event.type === 'summary') return e.event;
  }
  throw new Error('no summary');
}

export async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ideator-bench-verify-'));
  try {
    const ws = join(root, 'ws');
    mkdirSync(join(ws, 'data'), { recursive: true });
    writeFileSync(join(ws, 'train.py'), train(0.8));
    writeFileSync(join(ws, 'data', 'train.csv'), 'a,b\n' + '1,2\n'.repeat(1000));
    const ideasFile = join(root, 'ideas.json');
    writeFileSync(ideasFile, JSON.stringify(Array.from({ length: IDEAS }, (_, i) => ({ id: `idea-${i + 1}`, code: train(0.8 + 0.01 * i) }))));
    for (const slots of [1, 2]) {
      const s = await verifyOnce(ws, ideasFile, slots);
      console.log(
        `slots ${slots}: ${SEEDS + IDEAS} runs of ~${RUN_S} s, Σ run ${s.runSeconds.toFixed(2)} s, wall ${s.wallSeconds.toFixed(2)} s; ` +
          `wall ÷ (Σ run ÷ slots) = ${s.parallelRatio?.toFixed(3)} (goal ≤ 1.05)${s.sandbox.isolated ? '' : ' [runs NOT isolated here]'}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
