/**
 * Which python runs the user's code. Order: the `ideator.pythonPath` setting; the Python extension's active
 * interpreter (through @vscode/python-extension, only when ms-python.python is installed: it is never an
 * extensionDependency); `python.defaultInterpreterPath`; a workspace `.venv`; `python3` on PATH.
 * Resolved on first use, never at activation (the Python extension's API can take seconds to become ready).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export type PythonSource = 'setting' | 'python-extension' | 'python.defaultInterpreterPath' | 'workspace-venv' | 'path';

export interface PythonInterpreter {
  command: string;
  source: PythonSource;
}

const PYTHON_EXTENSION_ID = 'ms-python.python';

/** The Python extension's active interpreter, or undefined when it is absent, disabled, slow or has none. */
async function fromPythonExtension(resource: vscode.Uri | undefined, timeoutMs: number): Promise<string | undefined> {
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined;
  try {
    // Imported lazily so the module is only loaded when ms-python is installed.
    const { PythonExtension } = await import('@vscode/python-extension');
    const work = (async () => {
      const api = await PythonExtension.api();
      const envPath = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(envPath);
      return resolved?.executable.uri?.fsPath ?? envPath.path;
    })();
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs));
    return await Promise.race([work, timeout]);
  } catch {
    // 'Python extension is not installed or is disabled', or an API failure: fall through to the next source.
    return undefined;
  }
}

function isUsable(command: string): boolean {
  // Bare names (python3) are looked up on PATH by the shell; paths must exist.
  return !command.includes('/') && !command.includes('\\') ? true : fs.existsSync(command);
}

export async function resolvePython(options: { setting?: string; resource?: vscode.Uri; timeoutMs?: number } = {}): Promise<PythonInterpreter> {
  if (options.setting) return { command: options.setting, source: 'setting' };
  const folder = options.resource ? vscode.workspace.getWorkspaceFolder(options.resource) : vscode.workspace.workspaceFolders?.[0];
  const fromExt = await fromPythonExtension(options.resource ?? folder?.uri, options.timeoutMs ?? 3_000);
  if (fromExt && isUsable(fromExt)) return { command: fromExt, source: 'python-extension' };
  const configured = vscode.workspace.getConfiguration('python', options.resource).get<string>('defaultInterpreterPath');
  if (configured && configured !== 'python' && isUsable(configured)) {
    return { command: configured.replace('${workspaceFolder}', folder?.uri.fsPath ?? ''), source: 'python.defaultInterpreterPath' };
  }
  if (folder) {
    for (const rel of ['.venv/bin/python', 'venv/bin/python', '.venv/Scripts/python.exe']) {
      const candidate = path.join(folder.uri.fsPath, rel);
      if (fs.existsSync(candidate)) return { command: candidate, source: 'workspace-venv' };
    }
  }
  return { command: process.platform === 'win32' ? 'python' : 'python3', source: 'path' };
}
