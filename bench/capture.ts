/**
 * Bounded capture under a run that prints a lot (default 200 MB; IDEATOR_BENCH_CAPTURE_MB to change): a python
 * process writes training-log lines with ANSI colours and tqdm-style "\r" redraws, and we read its stdout two ways,
 * each in a fresh node child so RSS figures are not polluted by other benches:
 *   plain   - read the pipe and count characters (the floor: what any reader pays)
 *   capture - the same, with every chunk going through BoundedCapture (clean + score + head/tail)
 * Printed: throughput of each, capture/plain ratio of wall time and of the node process's CPU time (steadier on a
 * shared machine: the python writer's time is not in it), and peak RSS growth over the child's start. The pair runs
 * IDEATOR_BENCH_CAPTURE_ROUNDS times (default 5), alternating, and each figure is the best round of its mode: on a
 * shared machine the best round is the one least disturbed by others. The median of the rounds' own ratios (each
 * round's capture over the plain read run just before it) is printed too: the best-of ratio pairs figures of
 * different rounds, the median says what a typical run sees, and the goal (<= 2.5x wall) is checked against both.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BoundedCapture } from '../src/core/capture';

const ROOT = path.resolve(__dirname, '..');

function python(): string {
  if (process.env.IDEATOR_PYTHON) return process.env.IDEATOR_PYTHON;
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** Prints `mb` megabytes of log: 1 MB blocks of metric lines and progress-bar redraws, then a final score. */
const PRINTER = `
import sys
mb = int(sys.argv[1])
out = sys.stdout
lines = []
size = 0
i = 0
while size < 1_000_000:
    if i % 10 == 0:
        s = "\\x1b[32mepoch %d\\x1b[0m loss: %.5f - val_acc: %.5f\\n" % (i, 1.0 / (i + 1), 0.5 + i * 1e-6)
    else:
        s = "%3d%%|%s%s| %d/100\\r" % (i % 100, "#" * (i % 20), " " * (20 - i % 20), i % 100)
    lines.append(s)
    size += len(s)
    i += 1
block = "".join(lines)
for _ in range(mb):
    out.write(block)
out.write("\\nfinal val_acc: 0.91234\\n")
out.flush()
`;

interface ChildResult {
  mode: string;
  ms: number;
  cpuMs: number;
  chars: number;
  baseRss: number;
  peakRss: number;
  primary?: unknown;
  tailChars?: number;
}

async function child(mode: string, mb: number): Promise<void> {
  if (global.gc) global.gc();
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const cap = mode === 'capture' ? new BoundedCapture() : null;
  let chars = 0;
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const p = spawn(python(), ['-c', PRINTER, String(mb)], { stdio: ['ignore', 'pipe', 'inherit'] });
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (chunk: string) => {
    chars += chunk.length;
    cap?.push(chunk);
  });
  await new Promise<void>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', () => resolve());
  });
  const result = cap?.end();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  clearInterval(timer);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const out: ChildResult = { mode, ms, cpuMs, chars, baseRss, peakRss, primary: result?.primary, tailChars: result?.tail.length };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runChild(mode: string, mb: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', mode, String(mb)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => (text += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench child ${mode} exited ${code}`));
      resolve(JSON.parse(text.trim().split('\n').pop()!) as ChildResult);
    });
  });
}

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Keeps, per field, the best (lowest) figure of the rounds; the other fields come from the last round. */
function best(a: ChildResult | undefined, b: ChildResult): ChildResult {
  if (!a) return b;
  return {
    ...b,
    ms: Math.min(a.ms, b.ms),
    cpuMs: Math.min(a.cpuMs, b.cpuMs),
    baseRss: 0,
    peakRss: Math.min(a.peakRss - a.baseRss, b.peakRss - b.baseRss),
  };
}

export async function run(): Promise<void> {
  const mb = Number(process.env.IDEATOR_BENCH_CAPTURE_MB ?? 200);
  const rounds = Math.max(1, Number(process.env.IDEATOR_BENCH_CAPTURE_ROUNDS ?? 5));
  let plain: ChildResult | undefined;
  let captured: ChildResult | undefined;
  const wallRatios: number[] = [];
  const cpuRatios: number[] = [];
  const loadBefore = os.loadavg()[0];
  for (let round = 0; round < rounds; round++) {
    const p = await runChild('plain', mb);
    const c = await runChild('capture', mb);
    wallRatios.push(c.ms / p.ms);
    cpuRatios.push(c.cpuMs / p.cpuMs);
    plain = best(plain, p);
    captured = best(captured, c);
  }
  if (!plain || !captured) return;
  const rate = (r: ChildResult) => r.chars / MiB / (r.ms / 1000);
  const growth = (r: ChildResult) => Math.max(0, r.peakRss - r.baseRss);
  console.log(`capture: a python run printing ${mb} MB (${(plain.chars / MiB).toFixed(0)} MiB of characters), best of ${rounds} rounds`);
  // Wall ratios move with the machine's load (the writer, the reader and V8's compiler threads share its CPUs).
  console.log(`  load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after (${os.cpus().length} CPUs)`);
  console.log(`  plain read      ${rate(plain).toFixed(0)} MiB/s (${plain.cpuMs.toFixed(0)} ms CPU), peak RSS growth ${(growth(plain) / MiB).toFixed(1)} MiB`);
  console.log(`  bounded capture ${rate(captured).toFixed(0)} MiB/s (${captured.cpuMs.toFixed(0)} ms CPU), peak RSS growth ${(growth(captured) / MiB).toFixed(1)} MiB`);
  const ratio = captured.ms / plain.ms;
  console.log(`  time ratio capture/plain: ${ratio.toFixed(2)}x wall, ${(captured.cpuMs / plain.cpuMs).toFixed(2)}x CPU (goal <= 2.5x wall: ${ratio <= 2.5 ? 'met' : 'NOT met'})`);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
  // The goal is judged on the median too: what a typical run sees, not the best pairing of two rounds.
  const typical = median(wallRatios);
  console.log(
    `  per-round ratios, median (range): ${typical.toFixed(2)}x wall (${range(wallRatios)}), ${median(cpuRatios).toFixed(2)}x CPU (${range(cpuRatios)}) (goal <= 2.5x wall: ${typical <= 2.5 ? 'met' : 'NOT met'})`,
  );
  // The plain reader's growth is a few MiB and noisy (sometimes 0): a ratio to it says little, so floor it at 1 MiB.
  console.log(`  RSS growth ratio capture/plain: ${(growth(captured) / Math.max(MiB, growth(plain))).toFixed(2)}x (plain floored at 1 MiB)`);
  console.log(`  kept tail ${captured.tailChars} chars; primary ${JSON.stringify(captured.primary)}`);
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
