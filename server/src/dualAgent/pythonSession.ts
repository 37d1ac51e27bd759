/**
 * A persistent Python interpreter for execute-python (one per bench run, like CodeAct's IPython kernel):
 * variables survive between cells. Commands arrive on fd 3 (so user code reading stdin cannot eat them); the
 * cell's output — stdout and stderr merged at the file-descriptor level, so C extensions' prints are kept —
 * ends with a sentinel line carrying the status. A cell that runs past its time limit kills the interpreter;
 * the next cell starts a fresh one and the observation says the state was lost.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import type { Wrapped } from '../exec/isolation';
import { spawnTree, type ProcessTree } from '../exec/runner';
import type { AgentSandbox } from './agentSandbox';

const DRIVER = `
import ast, json, os, sys, traceback
os.dup2(1, 2)
sys.stderr = sys.stdout
SENTINEL = sys.argv[1]
ctrl = os.fdopen(3, "r")
ns = {"__name__": "__main__"}
for line in ctrl:
    ok = True
    try:
        code = json.loads(line)["code"]
        tree = ast.parse(code, "<cell>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<cell>", "exec"), ns)
        if last is not None:
            value = eval(compile(last, "<cell>", "eval"), ns)
            if value is not None:
                print(repr(value))
    except SystemExit:
        pass
    except BaseException:
        ok = False
        etype, err, tb = sys.exc_info()
        # Skip the driver's own frame: the agent should see only its cell.
        traceback.print_exception(etype, err, tb.tb_next if tb is not None else None, file=sys.stdout)
    sys.stdout.flush()
    print("\\n" + SENTINEL + json.dumps({"ok": ok}), flush=True)
`;

export interface CellResult {
  output: string;
  ok: boolean;
  timedOut: boolean;
  /** True when the interpreter had to be (re)started before this cell (earlier state is gone). */
  restarted: boolean;
  durationMs: number;
}

export class PythonSession {
  private child: ChildProcess | undefined;
  private tree: ProcessTree | undefined;
  private wrapped: Wrapped | undefined;
  private control: Writable | undefined;
  private buffer = '';
  private waiter: ((status: { ok: boolean } | null) => void) | undefined;
  private readonly sentinel = `__IDEATOR_CELL_DONE_${randomBytes(6).toString('hex')}__`;
  private started = false;

  constructor(
    private readonly python: string,
    private readonly sandbox: AgentSandbox,
    private readonly maxOutput = 1024 * 1024,
  ) {}

  private start(): void {
    // fd 3 is the control pipe; the sandbox's own fds (seccomp) come after it.
    const w = this.sandbox.launch([this.python, '-u', '-c', DRIVER, this.sentinel], 1);
    const tree = spawnTree(w.argv, { cwd: w.cwd, env: this.sandbox.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...w.extraFds], onKill: () => w.group?.kill() });
    const child = tree.child;
    this.wrapped = w;
    this.tree = tree;
    this.child = child;
    this.control = child.stdio[3] as Writable;
    this.control.on('error', () => undefined);
    this.buffer = '';
    const decoders = [new StringDecoder('utf8'), new StringDecoder('utf8')];
    child.stdout!.on('data', (chunk: Buffer) => this.onData(decoders[0].write(chunk)));
    child.stderr!.on('data', (chunk: Buffer) => this.onData(decoders[1].write(chunk)));
    child.on('error', () => {
      if (this.child === child) this.child = undefined;
      w.release();
      this.waiter?.(null);
    });
    child.on('close', () => {
      if (this.child === child) this.child = undefined;
      tree.kill();
      w.release();
      this.waiter?.(null);
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    if (this.buffer.length > this.maxOutput * 2) {
      // Keep the head and the newest tail; the sentinel always arrives in the tail.
      this.buffer = this.buffer.slice(0, this.maxOutput / 2) + '\n[... output cut ...]\n' + this.buffer.slice(-this.maxOutput);
    }
    const at = this.buffer.indexOf(this.sentinel);
    if (at >= 0) {
      const end = this.buffer.indexOf('\n', at);
      if (end < 0) return;
      let status = { ok: false };
      try {
        status = JSON.parse(this.buffer.slice(at + this.sentinel.length, end)) as { ok: boolean };
      } catch {
        // a malformed status line means the cell's own output imitated the sentinel; treat as failure
      }
      this.waiter?.(status);
    }
  }

  async run(code: string, timeoutMs: number): Promise<CellResult> {
    const startedAt = Date.now();
    const restarted = this.child === undefined && this.started;
    if (!this.child) this.start();
    this.started = true;
    this.buffer = '';
    const done = new Promise<{ ok: boolean } | null>((resolve) => (this.waiter = resolve));
    this.control!.write(JSON.stringify({ code }) + '\n');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, timeoutMs);
    const status = await done;
    clearTimeout(timer);
    this.waiter = undefined;
    const at = this.buffer.indexOf(this.sentinel);
    let output = at >= 0 ? this.buffer.slice(0, at) : this.buffer;
    output = output.replace(/\n$/, '');
    if (timedOut) output += `\n[cell killed after ${Math.round(timeoutMs / 1000)} s; the interpreter restarts, variables are lost]`;
    else if (status === null) output += '\n[the Python interpreter exited; the next cell starts a fresh one, variables are lost]';
    return { output, ok: Boolean(status?.ok) && !timedOut, timedOut, restarted, durationMs: Date.now() - startedAt };
  }

  kill(): void {
    if (!this.child) return;
    this.tree?.kill();
  }

  close(): void {
    this.kill();
    this.child = undefined;
  }
}
