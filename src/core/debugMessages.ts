/**
 * The parts of debug watching that need no 'vscode' (unit-tested): which DAP messages carry the program's output
 * and exit code, and how a launch configuration reads as a command line.
 */
import { z } from 'zod';

/** The DAP messages we read, validated (an adapter is an external process). */
const OutputEventSchema = z.object({
  type: z.literal('event'),
  event: z.literal('output'),
  body: z.object({ category: z.string().optional(), output: z.string() }),
});
const ExitedEventSchema = z.object({
  type: z.literal('event'),
  event: z.literal('exited'),
  body: z.object({ exitCode: z.number().int() }),
});

/** Program output (stdout/stderr categories only: 'console'/'telemetry'/'important' are the debugger talking). */
export function readDapMessage(message: unknown): { output?: string; exitCode?: number } {
  const out = OutputEventSchema.safeParse(message);
  if (out.success) {
    // DAP: a missing category means 'console'.
    const cat = out.data.body.category ?? 'console';
    return cat === 'stdout' || cat === 'stderr' ? { output: out.data.body.output } : {};
  }
  const exited = ExitedEventSchema.safeParse(message);
  return exited.success ? { exitCode: exited.data.body.exitCode } : {};
}

export function describeLaunch(config: { name?: unknown; program?: unknown; module?: unknown; args?: unknown }): { command: string; script?: string } {
  const args = Array.isArray(config.args) ? config.args.map(String).join(' ') : typeof config.args === 'string' ? config.args : '';
  if (typeof config.program === 'string') return { command: `python ${config.program} ${args}`.trim(), script: config.program };
  if (typeof config.module === 'string') return { command: `python -m ${config.module} ${args}`.trim(), script: config.module.replace(/\./g, '/') + '.py' };
  return { command: typeof config.name === 'string' ? config.name : 'debug session' };
}
