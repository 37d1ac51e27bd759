/**
 * The reward service attacked through its own API, as a policy optimised for reward would: one group on a real task
 * where one idea tries every way to forge its reward (answers, store, secrets, network, the grader, the server's
 * processes), one floods processes, one leaves a daemon and a tree built to break the clean-up, beside an honest
 * idea. The attackers get no reward they did not earn, the honest sibling is scored exactly as its leaderboard
 * says, no process survives, the server stays healthy; a restart over hostile leftovers starts and cleans them.
 * A client's 24 h timeout is cut to the server's --max-timeout-sec.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { api, ideaWithScript, tempDir, removeDir, REPO, processesMentioning, type RunningServer, startServer, waitJob } from './serverHarness';

const CHURN = join(REPO, 'server', 'tasks', 'churn-binary');
const SECRET = 'sk-ant-SECRET-e2e-attack';
const baseline = readFileSync(join(CHURN, 'solutions', '01_constant.py'), 'utf8');
const honest = readFileSync(join(CHURN, 'solutions', '04_logistic_features.py'), 'utf8');
const leaderboard = readFileSync(join(CHURN, 'leaderboard.csv'), 'utf8');
const state = { taskId: 'churn-binary', taskDescription: 'churn', score: { value: 0.5, direction: 'higher' }, code: baseline };

/** Tries each forgery; lists what worked on stdout; submits the answers if any worked, else the constant baseline. */
function forger(server: RunningServer, outside: string): string {
  const py = (v: unknown) => JSON.stringify(v);
  return `
import ctypes, os, socket, subprocess, sys
import pandas as pd
hits = []
def attempt(name, fn):
    try:
        r = fn()
    except BaseException:
        return
    if r:
        hits.append(name)
def any_environ_has_secret():
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if ${py(SECRET)} in open(f"/proc/{p}/environ", errors="ignore").read():
                    return True
            except OSError:
                pass
    return ${py(SECRET)} in str(os.environ)
libc = ctypes.CDLL(None, use_errno=True)
attempt("answers", lambda: open(${py(join(CHURN, 'prepared', 'private', 'test.csv'))}).read(64))
attempt("store-read", lambda: open(${py(join(server.dataDir, 'store', 'ideator.sqlite'))}, "rb").read(16))
attempt("store-write", lambda: open(${py(join(server.dataDir, 'store', 'ideator.sqlite'))}, "ab").write(b"x"))
attempt("grader-write", lambda: open(${py(join(CHURN, 'grade.py'))}, "a").write("#"))
attempt("write-outside", lambda: open(${py(join(outside, 'escaped.txt'))}, "w").write("x"))
attempt("secret", any_environ_has_secret)
attempt("network", lambda: socket.create_connection(("127.0.0.1", ${server.port}), timeout=2))
attempt("kill-server", lambda: os.kill(${server.pid}, 0) or True)
attempt("setuid", lambda: (os.setuid(0), os.getuid() == 0)[1])
attempt("userns", lambda: libc.unshare(0x10000000) == 0)
attempt("mount", lambda: subprocess.run(["mount", "-t", "tmpfs", "x", "/tmp"], capture_output=True).returncode == 0)
attempt("data-write", lambda: open("data/test.csv", "a").write("1,1\\n"))
print("FORGERIES:", ",".join(hits) or "none", flush=True)
test = pd.read_csv("data/test.csv")
if "answers" in hits:
    pd.read_csv(${py(join(CHURN, 'prepared', 'private', 'test.csv'))}).to_csv("submission.csv", index=False)
else:
    train = pd.read_csv("data/train.csv")
    pd.DataFrame({"customer_id": test["customer_id"], "churn": train["churn"].mean()}).to_csv("submission.csv", index=False)
`;
}

/** Forks until refused (the children wait), then submits the constant baseline: the limit must stop the flood first. */
const forkFlood = `
import os, time
import pandas as pd
n = 0
for _ in range(5000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    n += 1
print("FORKED", n, flush=True)
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pd.DataFrame({"customer_id": test["customer_id"], "churn": train["churn"].mean()}).to_csv("submission.csv", index=False)
`;

function litter(marker: string): string {
  return `
import os, subprocess, sys
import pandas as pd
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", ${JSON.stringify(marker)}], start_new_session=True)
start = os.getcwd()
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
os.chdir(start)
os.mkdir("many")
for i in range(20000):
    open(f"many/f{i}", "w").close()
os.chmod("many", 0o500)
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pd.DataFrame({"customer_id": test["customer_id"], "churn": train["churn"].mean()}).to_csv("submission.csv", index=False)
print("LITTERED", flush=True)
`;
}

describe('the reward service under attack (end to end)', () => {
  it('a forging idea, a fork flood and a littering daemon beside an honest sibling: rewards as earned, nothing survives, restart over leftovers', { timeout: 300_000 }, async (t) => {
    const dataDir = tempDir('ideator-attack-');
    const outside = tempDir('ideator-attack-outside-');
    const marker = `ideator-litter-${process.pid}-${Date.now()}`;
    const args = ['--slots', '2', '--max-processes', '64', '--max-timeout-sec', '20'];
    const env = { ANTHROPIC_API_KEY: SECRET };
    let server: RunningServer | undefined = await startServer({ dataDir, args, env });
    try {
      const health = (await api(server, 'GET', '/healthz')).json as unknown as { isolation: { mode: string; minimumMet: boolean } };
      if (health.isolation.mode !== 'bubblewrap') {
        t.skip('no bubblewrap on this host (the reward service refuses to start without it outside development)');
        return;
      }
      const graderBefore = readFileSync(join(CHURN, 'grade.py'), 'utf8');
      const ideas = [ideaWithScript(honest), ideaWithScript(forger(server, outside)), ideaWithScript(forkFlood), ideaWithScript(litter(marker))];
      const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas });
      assert.equal(r.status, 200, r.text);
      const [good, forged, flood, littered] = r.json.results;

      const expected = Number(/04_logistic_features,([\d.]+)/.exec(leaderboard)![1]);
      assert.equal(good.status, 'improved', JSON.stringify(good));
      assert.equal(good.reward, 1);
      assert.ok(Math.abs((good.scoreAfter ?? 0) - expected) < 1e-4, `honest sibling graded ${good.scoreAfter}, leaderboard ${expected}`);

      assert.match(forged.outputTail, /FORGERIES: none/, forged.outputTail);
      assert.equal(forged.status, 'not_improved', JSON.stringify(forged));
      assert.equal(forged.reward, 0);
      assert.equal(forged.scoreAfter, 0.5, 'graded as the constant it submitted, by the untouched grader');
      assert.equal(readFileSync(join(CHURN, 'grade.py'), 'utf8'), graderBefore);
      assert.equal(existsSync(join(outside, 'escaped.txt')), false);
      // The secret is in the forger's own code (its diff); what the run produced never carries it.
      for (const res of r.json.results) assert.doesNotMatch(`${res.outputTail}\n${res.error ?? ''}`, new RegExp(SECRET));
      assert.deepEqual(forged.guardFlags, ['touches_evaluation', 'reads_outside_data'], 'and the guard flagged the attempt');

      const forked = Number(/FORKED (\d+)/.exec(flood.outputTail)?.[1] ?? NaN);
      assert.ok(forked < 64, `the per-run process limit stopped the flood (forked ${forked}): ${JSON.stringify({ ...flood, codeDiff: undefined })}`);
      assert.equal(flood.status, 'not_improved', 'the run went on after the refused fork and was graded');

      assert.match(littered.outputTail, /LITTERED/);
      assert.equal(littered.status, 'not_improved', JSON.stringify(littered));
      await new Promise((res) => setTimeout(res, 300));
      assert.deepEqual(processesMentioning(marker), [], 'the daemon died with its run');
      assert.deepEqual(processesMentioning(join(dataDir, 'work')), []);
      const leftInWork = existsSync(join(dataDir, 'work')) ? readdirSync(join(dataDir, 'work')) : [];
      assert.deepEqual(leftInWork, [], 'every run folder was removed');
      assert.equal((await api(server, 'GET', '/healthz')).status, 200);

      // A client that asks for 24 h gets the server's cap (the run sleeps far longer than the cap).
      const t0 = Date.now();
      const capped = await api(server, 'POST', '/v1/rewards?wait=1', {
        state,
        ideas: [ideaWithScript(`import time\ntime.sleep(600)\n${honest}`)],
        timeoutSec: 24 * 3600,
      });
      assert.equal(capped.status, 200, capped.text);
      assert.equal(capped.json.results[0].status, 'timeout', JSON.stringify(capped.json.results[0]));
      assert.match(capped.json.results[0].error ?? '', /timed out after 20 s/);
      assert.ok(Date.now() - t0 < 90_000);

      // Stop, then leave what a killed server could leave behind: a dead process's folder with a deep tree, a
      // read-only folder and (as root) an immutable file. The restart starts, and sweeps it.
      assert.equal(await server.stop(), 0);
      server = undefined;
      const dead = spawnSync('true').pid ?? 999_999;
      const leftover = join(dataDir, 'work', `${dead}-leftover-x`);
      let deep = leftover;
      for (let i = 0; i < 300; i++) deep = join(deep, 'd');
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(leftover, 'stuck'), 'x');
      if (process.getuid?.() === 0) spawnSync('chattr', ['+i', join(leftover, 'stuck')]);
      server = await startServer({ dataDir, args, env });
      assert.equal((await api(server, 'GET', '/healthz')).status, 200);
      // The sweep runs beside start-up (it never delays or fails it).
      for (let i = 0; i < 100 && existsSync(leftover); i++) await new Promise((res) => setTimeout(res, 100));
      assert.equal(existsSync(leftover), false, `the leftover was swept at start-up:\n${server.stderr()}`);
      // And the restarted server still scores (the stored group answers at once, from the store).
      const again = await api(server, 'POST', '/v1/rewards', { state, ideas });
      assert.equal(again.json.id, r.json.id);
      const job = await waitJob(server, again.json.id);
      assert.deepEqual(job.results.map((x) => x.reward), r.json.results.map((x) => x.reward));
    } finally {
      await server?.stop();
      removeDir(dataDir);
      removeDir(outside);
    }
  });
});
