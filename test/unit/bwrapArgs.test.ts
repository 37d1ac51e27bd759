/** The bubblewrap command line as a pure function: what each run gets, in the order bubblewrap needs. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { bwrapArgs, NVIDIA_CONTROL, SANDBOX_UID, WORK_INSIDE, type BwrapArgsInput } from '../../server/src/exec/bwrapArgs';

const limits = { timeoutMs: 1000, memoryMb: 1024, maxOutputBytes: 1 << 20, maxFileMb: 16, shmMb: 64, maxProcesses: 64, diskMb: 64, cpus: 0 };
function input(over: Partial<BwrapArgsInput['req']> = {}, rest: Partial<BwrapArgsInput> = {}): BwrapArgsInput {
  return {
    req: { workdir: '/data/work/1-run-x', python: '/opt/venv/bin/python', limits, ...over },
    disableUserns: true,
    devRoot: '/dev',
    passwd: '/private/passwd',
    group: '/private/group',
    pythonRoots: ['/opt/venv', '/opt/python3.11'],
    rootEntries: [{ path: '/bin', link: 'usr/bin' }, { path: '/lib', link: 'usr/lib' }, { path: '/lib64' }],
    ...rest,
  };
}
/** The value list after each occurrence of a flag. */
function after(args: string[], flag: string, n: number): string[][] {
  return args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + n)] : []));
}

describe('bwrapArgs', () => {
  it('an unprivileged user in fresh namespaces, no capabilities, no user namespaces, dies with its parent', () => {
    const a = bwrapArgs(input());
    for (const f of ['--unshare-user', '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session', '--disable-userns']) assert.ok(a.includes(f), f);
    assert.deepEqual(after(a, '--uid', 1), [[String(SANDBOX_UID)]]);
    assert.deepEqual(after(a, '--cap-drop', 1), [['ALL']]);
    assert.equal(a.some((x) => x.startsWith('--unshare-cgroup')), false, 'no cgroup namespace (costly once joined, nothing to hide)');
    assert.equal(bwrapArgs(input({}, { disableUserns: false })).includes('--disable-userns'), false);
  });

  it('a read-only root: /usr, the root links, /etc basics without ssl/private, the synthetic passwd, /proc/sys read-only', () => {
    const a = bwrapArgs(input());
    assert.deepEqual(after(a, '--symlink', 2), [['usr/bin', '/bin'], ['usr/lib', '/lib']]);
    const ro = after(a, '--ro-bind', 2).map(([h, i]) => `${h}>${i}`);
    for (const b of ['/usr>/usr', '/lib64>/lib64', '/private/passwd>/etc/passwd', '/private/group>/etc/group', '/opt/venv>/opt/venv']) assert.ok(ro.includes(b), b);
    const roTry = after(a, '--ro-bind-try', 2).map(([h]) => h);
    assert.ok(roTry.includes('/etc/ssl/certs') && roTry.includes('/proc/sys'));
    assert.equal(roTry.some((p) => p.includes('ssl/private') || p === '/etc/shadow'), false);
    assert.equal(a.indexOf('--proc') < a.indexOf('/proc/sys'), true, '/proc/sys is made read-only over the fresh /proc');
    assert.deepEqual(after(a, '--size', 1), [[String(64 * 1024 * 1024)]], '/dev/shm is sized');
  });

  it('binds /tmp before the interpreter (a checkout under /tmp stays visible), the workdir and binds after, then / read-only', () => {
    const a = bwrapArgs(input({ workdir: '/tmp/ci/work/1-x', binds: [{ host: '/tasks/t/public', inside: 'data' }, { host: '/ans.csv', inside: '/answers/a.csv' }, { host: '/out', inside: 'out', rw: true }] }, { pythonRoots: ['/tmp/ci/.venv'] }));
    const at = (flag: string, host: string) => a.findIndex((x, i) => x === flag && a[i + 1] === host);
    assert.ok(at('--bind', '/tmp/ci/work/1-x/.tmp') < at('--ro-bind', '/tmp/ci/.venv'));
    assert.ok(at('--ro-bind', '/tmp/ci/.venv') < at('--bind', '/tmp/ci/work/1-x'));
    assert.deepEqual(after(a, '--bind', 2).at(-1), ['/out', `${WORK_INSIDE}/out`]);
    assert.ok(after(a, '--ro-bind', 2).some(([h, i]) => h === '/tasks/t/public' && i === `${WORK_INSIDE}/data`));
    assert.ok(after(a, '--ro-bind', 2).some(([h, i]) => h === '/ans.csv' && i === '/answers/a.csv'));
    assert.deepEqual(a.slice(-4), ['--remount-ro', '/', '--chdir', WORK_INSIDE]);
  });

  it('an emptyDir bind is an empty read-only folder over what an earlier bind shows there', () => {
    const a = bwrapArgs(input({ binds: [{ host: '/ws/data', inside: 'data' }, { host: '', inside: 'data/.git', emptyDir: true }] }));
    const at = a.indexOf('--tmpfs', a.indexOf(`${WORK_INSIDE}/data`));
    assert.ok(at > 0, a.join(' '));
    assert.deepEqual(a.slice(at, at + 4), ['--tmpfs', `${WORK_INSIDE}/data/.git`, '--remount-ro', `${WORK_INSIDE}/data/.git`]);
    assert.equal(a.includes(''), false, 'no empty host path is bound');
  });

  it('GPUs: only the run’s own /dev/nvidiaN, the control devices and a read-only /sys; nothing for other ids or none', () => {
    const a = bwrapArgs(input({ gpus: ['1', '3'] }, { devRoot: '/fake/dev' }));
    const devs = after(a, '--dev-bind-try', 2);
    assert.deepEqual(devs.slice(0, 2), [['/fake/dev/nvidia1', '/dev/nvidia1'], ['/fake/dev/nvidia3', '/dev/nvidia3']]);
    assert.deepEqual(devs.slice(2).map(([, i]) => i), NVIDIA_CONTROL.map((c) => `/dev/${c}`));
    assert.ok(after(a, '--ro-bind-try', 2).some(([h, i]) => h === '/sys' && i === '/sys'));
    for (const gpus of [[], undefined]) {
      const b = bwrapArgs(input({ gpus }));
      assert.equal(b.includes('--dev-bind-try'), false);
      assert.equal(after(b, '--ro-bind-try', 2).some(([h]) => h === '/sys'), false);
    }
    assert.deepEqual(after(bwrapArgs(input({ gpus: ['0;rm', '../1', '2'] })), '--dev-bind-try', 2)[0], ['/dev/nvidia2', '/dev/nvidia2']);
    // Ids that are not indices bind nothing at all: no control devices, no /sys.
    assert.equal(bwrapArgs(input({ gpus: ['GPU-5f3c', '../0'] })).includes('--dev-bind-try'), false);
  });
});

describe('execFailure: the command never started', () => {
  it('reads bubblewrap\'s and the watchdog\'s (coreutils timeout) messages, nothing the command printed', async () => {
    const { execFailure } = await import('../../server/src/exec/isolation');
    assert.equal(execFailure('bwrap: execvp /x/python: No such file or directory\n'), 'No such file or directory');
    assert.equal(execFailure('/usr/bin/timeout: failed to run command ‘/x/no-python’: No such file or directory\n'), 'No such file or directory');
    assert.equal(execFailure("timeout: failed to run command '/x/python': Permission denied\n"), 'Permission denied');
    assert.equal(execFailure('Traceback (most recent call last):\n/usr/bin/timeout: failed to run command ‘x’: y\n'), null);
    assert.equal(execFailure('KeyError: plan_type\n'), null);
  });
});
