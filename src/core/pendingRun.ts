/**
 * One run in progress, whatever its source: output goes through BoundedCapture, the code is snapshotted at start
 * (the code that ran, not whatever the user types while it trains), finish() turns it into a core Run.
 */
import { randomUUID } from 'node:crypto';
import { BoundedCapture } from './capture';
import type { CodeSnapshot, PrimaryScore, Run, RunSource } from './protocol';
import type { ScoreOptions } from './scores';

export interface PendingRunInit {
  /** Reuse an id to update a run (a notebook session re-recorded after each cell). */
  id?: string;
  source: RunSource;
  command?: string;
  cwd?: string;
  /** The code snapshot, resolved in the background. */
  code?: Promise<CodeSnapshot | undefined>;
  startedAt?: Date;
  /** When false, output is not captured (tasks we cannot read); the run still gets start/end/exit. */
  captureOutput?: boolean;
  scoreOptions?: ScoreOptions;
  note?: string;
}

export class PendingRun {
  readonly id: string;
  readonly startedAt: Date;
  private readonly capture: BoundedCapture;
  private finished: Promise<Run> | undefined;

  constructor(readonly init: PendingRunInit) {
    this.id = init.id ?? randomUUID();
    this.startedAt = init.startedAt ?? new Date();
    // Scores are read on the capture thread: a chatty run costs the editor's own thread only the cleaning.
    this.capture = new BoundedCapture({ score: init.scoreOptions, offThread: true });
  }

  push(chunk: string): void {
    if (this.init.captureOutput !== false) this.capture.push(chunk);
  }

  live(): { bytes: number; primary: PrimaryScore | null } {
    return this.capture.live();
  }

  /** Drops the run unfinished (it turned out not to be one): its capture is let go. */
  dispose(): void {
    this.capture.dispose();
  }

  /** Idempotent: a second call (e.g. both `exited` and session end) returns the same run. */
  finish(exitCode: number | null | undefined, endedAt = new Date()): Promise<Run> {
    this.finished ??= (async () => {
      const out = await this.capture.finish();
      const code = await this.init.code?.catch(() => undefined);
      const run: Run = {
        id: this.id,
        source: this.init.source,
        command: this.init.command,
        cwd: this.init.cwd,
        startedAt: this.startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
        exitCode: exitCode ?? null,
        metrics: out.metrics,
        primary: out.primary,
        outputHead: out.head,
        outputTail: out.tail,
        outputBytes: out.bytes,
        code,
        // The capture thread stopped mid-run (rare): say what is missing rather than show a partial run as whole.
        note: out.incomplete ? [this.init.note, `Part of the output was not captured (${out.incomplete}).`].filter(Boolean).join(' ') : this.init.note,
      };
      return run;
    })();
    return this.finished;
  }
}
