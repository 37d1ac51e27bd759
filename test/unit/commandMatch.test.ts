import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractScriptPath, isTrainingCommand, tokenizeShell } from '../../src/core/commandMatch';

test('training-like commands match, with wrappers, env assignments, paths and compound lines', () => {
  for (const cmd of [
    'python train.py',
    'python3 -u train.py --epochs 3',
    '.venv/bin/python train.py',
    '/usr/bin/python3.11 src/fit.py',
    'CUDA_VISIBLE_DEVICES=0 python train.py',
    'time nohup python train.py > log.txt',
    'env -u FOO python3 train.py',
    'cd exp && python train.py',
    'python train.py 2>&1 | tee log.txt',
    'python -m mypkg.train --lr 0.1',
    'accelerate launch --num_processes 2 train.py',
    'torchrun --nproc_per_node=8 train.py',
    'deepspeed --num_gpus 2 train.py --deepspeed ds.json',
    'bash run.sh',
    'uv run train.py',
    'poetry run python train.py',
    './train.py',
    'ipython fit.py',
  ]) {
    assert.ok(isTrainingCommand(cmd), cmd);
  }
});

test('everyday commands and interpreter tools are not runs', () => {
  for (const cmd of [
    'ls -la',
    'git commit -m "python train.py"',
    'echo python train.py',
    'pip install numpy',
    'python',
    'python --version',
    'python -c "import torch"',
    'python -m pip install lightgbm',
    'python3 -m venv .venv',
    'python -m pytest -q',
    'bash',
    'cat train.py # python train.py',
    'npm test',
    // The Python debugger's terminal launch: the debug watcher owns that run.
    '/usr/bin/env /home/u/.venv/bin/python /home/u/.vscode/extensions/ms-python.debugpy-2025.1/bundled/libs/debugpy/launcher 40213 -- /home/u/train.py',
  ]) {
    assert.equal(isTrainingCommand(cmd), false, cmd);
  }
});

test('custom globs replace the defaults', () => {
  assert.equal(isTrainingCommand('make train', ['make train']), true);
  assert.equal(isTrainingCommand('make lint', ['make train']), false);
  assert.equal(isTrainingCommand('python train.py', ['make train']), false);
  assert.equal(isTrainingCommand('Rscript fit.R', ['Rscript']), true);
});

test('the script path is found after options and launchers', () => {
  const cases: [string, string | undefined][] = [
    ['python train.py --lr 1', 'train.py'],
    ['python3 -u -W ignore src/train.py', 'src/train.py'],
    ['accelerate launch --config_file cfg.yaml train.py', 'train.py'],
    ['torchrun --nproc_per_node 2 scripts/pretrain.py --cfg a.yaml', 'scripts/pretrain.py'],
    ['python -m pkg.train', 'pkg/train.py'],
    ['bash "my runs/go.sh"', 'my runs/go.sh'],
    ['cd exp && CUDA_VISIBLE_DEVICES=1 python fit.py', 'fit.py'],
    ['./train.py --fast', './train.py'],
    ['uv run python train.py', 'train.py'],
    ['ls', undefined],
  ];
  for (const [cmd, want] of cases) assert.equal(extractScriptPath(cmd), want, cmd);
});

test('tokenizer handles quotes, escapes, separators and comments', () => {
  assert.deepEqual(tokenizeShell(`a "b c" 'd e'\\ f; g && h|i # c; j`), [['a', 'b c', 'd e f'], ['g'], ['h'], ['i']]);
  assert.deepEqual(tokenizeShell('python "a \\"q\\".py"'), [['python', 'a "q".py']]);
  assert.deepEqual(tokenizeShell(''), []);
});

test('the default patterns in package.json are the same as the code defaults', async () => {
  const { DEFAULT_TRAINING_GLOBS } = await import('../../src/core/commandMatch');
  const pkg = JSON.parse((await import('node:fs')).readFileSync(new URL('../../package.json', `file://${__filename}`), 'utf8'));
  const setting = pkg.contributes?.configuration?.properties?.['ideator.watch.commandPatterns'];
  assert.ok(setting, 'ideator.watch.commandPatterns is contributed');
  assert.deepEqual(setting.default, [...DEFAULT_TRAINING_GLOBS]);
});
