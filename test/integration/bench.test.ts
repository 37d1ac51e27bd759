/**
 * `ideator bench` end to end: the scripted OpenAI-compatible test server plays an implementer that writes real
 * code (a numeric-only baseline, then — after seek_help — a one-hot improvement in the persistent interpreter)
 * and a second one plays the Ideator. Real execution, real grading, the state pool exported as VeRL parquet and
 * read back with pandas, JSONL read back, and resume after an interrupted run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { IdeatorStateSchema } from '../../src/core/protocol';
import { buildReport } from '../../server/src/report';
import { resolvePython } from '../../server/src/tasks';
import { runCli } from '../cliHarness';
import { ideaWithScript, removeDir, REPO, startServer } from './serverHarness';
import { startOpenAIServer, type ChatRequest, type OpenAIServer } from '../servers/openai';

const BASELINE = `<execute_bash>
cat > solution.py <<'PY'
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
num = ["tenure_months", "support_calls", "age", "has_partner"]
Xtr, Xva, ytr, yva = train_test_split(train[num], train["churn"], test_size=0.25, random_state=0)
model = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
print("valid auc:", round(roc_auc_score(yva, model.predict_proba(Xva)[:, 1]), 4))
model.fit(train[num], train["churn"])
pd.DataFrame({"customer_id": test["customer_id"], "churn": model.predict_proba(test[num])[:, 1]}).to_csv("submission.csv", index=False)
PY
python solution.py
</execute_bash>`;

const SEEK_HELP = `My numeric-only model has plateaued.
<seek_help>
PROBLEM_STATEMENT:
Validation AUC is stuck at the numeric-only logistic baseline.

ATTEMPTS_SO_FAR:
- logistic regression on four numeric columns

GOAL:
Raise validation AUC clearly above the baseline.
</seek_help>`;

const IMPROVED = `Following the advice: one-hot categoricals, in the interpreter.
<execute_ipython>
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
def prep(df):
    X = pd.get_dummies(df[["contract", "payment_method", "region"]]).astype(float)
    for c in ["tenure_months", "support_calls", "age", "has_partner", "monthly_charge", "data_gb"]:
        X[c] = df[c].fillna(train[c].median())
    X["early"] = (df["tenure_months"] <= 6).astype(float)
    return X
X, Xt = prep(train), prep(test)
Xt = Xt.reindex(columns=X.columns, fill_value=0.0)
Xtr, Xva, ytr, yva = train_test_split(X, train["churn"], test_size=0.25, random_state=0)
model = LogisticRegression(max_iter=3000).fit(Xtr, ytr)
print("valid auc:", round(roc_auc_score(yva, model.predict_proba(Xva)[:, 1]), 4))
model.fit(X, train["churn"])
pd.DataFrame({"customer_id": test["customer_id"], "churn": model.predict_proba(Xt)[:, 1]}).to_csv("submission.csv", index=False)
</execute_ipython>`;

const IDEA = `ANALYSIS_ON_CURRENT_PROGRESS:
Keep the logistic model but stop ignoring the categorical columns: contract type is the strongest churn driver.

ACTION:
One-hot encode contract, payment_method and region, add the remaining numeric columns with median imputation, and an early-tenure flag.

RATIONALE:
Churn depends strongly on month-to-month contracts and the first months of tenure; a linear model cannot see them now.`;

/** The implementer's script, by turn; with no seek_help in its system prompt it is the CodeAct baseline. */
function implementerReply(req: ChatRequest) {
  const turn = req.messages.filter((m) => m.role === 'assistant').length;
  const system = String(req.messages[0].content);
  const dual = system.includes('<seek_help>');
  const script = dual
    ? ['<execute_bash>ls data && head -c 200 data/train.csv</execute_bash>', BASELINE, SEEK_HELP, IMPROVED, '<submit>one-hot logistic</submit>']
    : ['<execute_bash>ls data</execute_bash>', BASELINE, '<submit>baseline</submit>'];
  return { text: script[Math.min(turn, script.length - 1)], usage: { prompt_tokens: 1000, completion_tokens: 100 } };
}

const root = mkdtempSync(join(tmpdir(), 'ideator-bench-test-'));
const runDir = join(root, 'run');
const dataDir = join(root, 'data');
let impl: OpenAIServer;
let ideator: OpenAIServer;

const cli = (args: string[]) => runCli(args);

function benchArgs(): string[] {
  return [
    'bench', '--tasks', 'churn-binary', '--runs', '2',
    '--implementer', `openai:impl@${impl.url}`,
    '--ideator', 'none', '--ideator', `prompted=openai:ideator@${ideator.url}`,
    '--run-dir', runDir, '--data-dir', dataDir, '--max-steps', '8', '--time-limit', '300',
    '--price-implementer', '3,15', '--price-ideator', '0.5,1', '--no-progress', '--json',
  ];
}

before(async () => {
  impl = await startOpenAIServer({ responses: (req) => implementerReply(req) });
  ideator = await startOpenAIServer({ responses: [{ text: IDEA, usage: { prompt_tokens: 5000, completion_tokens: 80 } }] });
});
after(async () => {
  await impl.close();
  await ideator.close();
  rmSync(root, { recursive: true, force: true });
});

describe('ideator bench (scripted implementer and Ideator, real execution and grading)', () => {
  let table: { perTask: Record<string, number | string>[]; overall: Record<string, number | string>[]; k: number };

  it('runs every task × config × run and prints Table 1', async () => {
    const r = await cli(benchArgs());
    assert.equal(r.code, 0, r.stderr);
    table = JSON.parse(r.stdout).table;
    assert.equal(table.k, 2);
    const byConfig = Object.fromEntries(table.perTask.map((row) => [row.config, row]));
    const base = byConfig.codeact;
    const dual = byConfig.prompted;
    assert.ok(base && dual, JSON.stringify(table));
    assert.equal(base.validRate, 1);
    assert.equal(dual.validRate, 1);
    assert.equal(base.meanSeekHelps, 0);
    assert.equal(dual.meanSeekHelps, 1);
    assert.equal(base.meanSteps, 3);
    assert.equal(dual.meanSteps, 5);
    // The idea (one-hot categoricals) really improves the hidden-test AUC over the numeric baseline.
    assert.ok((dual.avgAtK as number) > (base.avgAtK as number) + 10, `dual ${dual.avgAtK} vs base ${base.avgAtK}`);
    assert.ok((base.avgAtK as number) > 0);
    // Tokens and cost: implementer 1000 in / 100 out per turn at 3 / 15 USD per M; Ideator 5000 / 80 at 0.5 / 1.
    assert.equal(base.tokens, 2 * 3 * 1100);
    assert.equal(dual.tokens, 2 * (5 * 1100 + 5080));
    assert.ok(Math.abs((base.costUsd as number) - 2 * 3 * (1000 * 3 + 100 * 15) / 1e6) < 1e-9);
    assert.ok(Math.abs((dual.costUsd as number) - 2 * (5 * (1000 * 3 + 100 * 15) + 5000 * 0.5 + 80) / 1e6) < 1e-9);
    const overall = table.overall.find((row) => row.config === 'prompted')!;
    assert.equal(overall.avgAtK, dual.avgAtK);
    assert.match(r.stderr, /\[4\/4\]/);
  });

  it('the baseline never heard of seek_help; the Ideator saw the query, trajectory and code; the idea came back', () => {
    const baseSystems = impl.requests.filter((q) => !String(q.messages[0].content).includes('<seek_help>'));
    assert.ok(baseSystems.length >= 6, 'baseline requests missing');
    assert.ok(baseSystems.every((q) => !String(q.messages[0].content).toLowerCase().includes('seek_help')));
    assert.equal(ideator.requests.length, 2);
    const asked = JSON.stringify(ideator.requests[0].messages);
    assert.match(asked, /stuck at the numeric-only logistic baseline/);
    assert.match(asked, /valid auc/); // the trajectory's observation
    assert.match(asked, /LogisticRegression\(max_iter=1000\)/); // C_t: the solution.py the agent wrote
    const afterHelp = impl.requests.find((q) => q.messages.filter((m) => m.role === 'assistant').length === 3 && String(q.messages[0].content).includes('<seek_help>'))!;
    assert.match(String(afterHelp.messages.at(-1)!.content), /One-hot encode contract/);
  });

  it('writes one log per run and a pool with judged outcomes', () => {
    const logs = readdirSync(join(runDir, 'logs')).sort();
    assert.deepEqual(logs, ['churn-binary__codeact__1.log', 'churn-binary__codeact__2.log', 'churn-binary__prompted__1.log', 'churn-binary__prompted__2.log']);
    const log = readFileSync(join(runDir, 'logs', logs[2]), 'utf8');
    assert.match(log, /step 3 python exit=0 submission=0\.8/);
    assert.ok(!existsSync(join(runDir, 'work', 'churn-binary', 'prompted', '1')), 'workdirs are removed by default');
  });

  it('exports the pool as VeRL parquet that pandas/pyarrow read with the right nested types', async () => {
    const out = join(root, 'pool.parquet');
    const r = await cli(['export', runDir, '--format', 'verl', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).states, 2);
    // The real prompt in real Qwen3 tokens, and settings that fit it: VeRL's default 512 would cut it.
    const { lengths } = JSON.parse(r.stdout);
    assert.equal(lengths.tokenizer, 'qwen3');
    assert.ok(lengths.longestPrompt.tokens > 1000, JSON.stringify(lengths));
    assert.ok(lengths.maxPromptLength >= lengths.longestPrompt.tokens && lengths.maxResponseLength >= 2 * lengths.longestAnswer.tokens, JSON.stringify(lengths));
    const py = `
import json, sys
import pandas as pd, pyarrow.parquet as pq
schema = pq.read_schema(sys.argv[1])
df = pd.read_parquet(sys.argv[1])
row = df.iloc[0]
print(json.dumps({
  "columns": list(df.columns),
  "types": {f.name: str(f.type) for f in schema},
  "rows": len(df),
  "roles": [m["role"] for m in row["prompt"]],
  "prompt_text": " ".join(m["content"] for m in row["prompt"]),
  "reward_model": row["reward_model"],
  "extra_keys": sorted(row["extra_info"].keys()),
  "state": row["extra_info"]["state"],
  "before": row["extra_info"]["score_before"], "after": row["extra_info"]["score_after"], "reward": row["extra_info"]["reward"],
  "data_source": row["data_source"], "ability": row["ability"],
}))`;
    const got = JSON.parse(execFileSync(resolvePython(), ['-c', py, out], { encoding: 'utf8' }));
    assert.deepEqual(got.columns, ['data_source', 'prompt', 'ability', 'reward_model', 'extra_info']);
    assert.equal(got.rows, 2);
    assert.match(got.types.prompt, /^list<element: struct<role: string, content: string>>$/);
    assert.match(got.types.reward_model, /^struct<style: string, ground_truth: string>$/);
    assert.match(got.types.extra_info, /^struct<index: int64, split: string, state_id: string/);
    assert.ok(got.roles.includes('user'));
    assert.match(got.prompt_text, /stuck at the numeric-only logistic baseline/);
    assert.equal(got.data_source, 'mle-ideator/churn-binary');
    assert.equal(got.reward_model.style, 'rule');
    assert.equal(JSON.parse(got.reward_model.ground_truth).task, 'churn-binary');
    const state = IdeatorStateSchema.parse(JSON.parse(got.state));
    assert.equal(state.taskId, 'churn-binary');
    assert.equal(state.query?.goal, 'Raise validation AUC clearly above the baseline.');
    assert.ok(state.trajectory.length === 2 && state.score.value !== null && state.score.value > 0.5);
    assert.equal(got.reward, 1);
    assert.ok(got.after > got.before);
  });

  it('the reward server scores an exported state as a VeRL trainer hands it over (parquet row → bridge → reward)', { timeout: 240_000 }, async () => {
    const server = await startServer({ args: ['--slots', '2'] });
    try {
      const better = readFileSync(join(REPO, 'server', 'tasks', 'churn-binary', 'solutions', '04_logistic_features.py'), 'utf8');
      const py = `
import json, sys
import pandas as pd
sys.path.insert(0, sys.argv[2])
import ideator_reward
row = pd.read_parquet(sys.argv[1]).iloc[0]
ideas = json.loads(sys.argv[3])
out = [ideator_reward.compute_score(data_source=row["data_source"], solution_str=idea, ground_truth=row["reward_model"]["ground_truth"], extra_info=dict(row["extra_info"])) for idea in ideas]
print(json.dumps(out))`;
      const ideas = [ideaWithScript(better), 'ACTION without the other two fields'];
      const got = JSON.parse(
        execFileSync(resolvePython(), ['-c', py, join(root, 'pool.parquet'), join(REPO, 'server', 'python'), JSON.stringify(ideas)], {
          encoding: 'utf8',
          env: { ...process.env, IDEATOR_SERVER_URL: server.url, IDEATOR_REWARD_ON_ERROR: 'raise' },
          timeout: 200_000,
        }),
      ) as Record<string, number>[];
      assert.equal(got[0].bridge_error, 0, JSON.stringify(got[0]));
      assert.equal(got[0].improved, 1, `the feature-engineered solution beats the exported state's C_t: ${JSON.stringify(got[0])}`);
      assert.equal(got[0].score, 1);
      assert.equal(got[1].format_error, 1, JSON.stringify(got[1]));
      assert.equal(got[1].score, -1);
    } finally {
      await server.stop();
      removeDir(server.dataDir);
    }
  });

  it('exports JSONL lines in the shared export format', async () => {
    const out = join(root, 'pool.jsonl');
    const r = await cli(['export', '--run-dir', runDir, '--format', 'jsonl', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const l of lines) {
      IdeatorStateSchema.parse(l.state);
      assert.equal(l.outcome.status, 'improved');
      assert.equal(l.ideaType, 'Feature Engineering');
      assert.equal(l.config, 'prompted');
      assert.match(l.idea, /^ANALYSIS_ON_CURRENT_PROGRESS:/);
    }
  });

  it('collects per-task train/val splits from the pool', async () => {
    const out = join(root, 'collected');
    const r = await cli(['collect', runDir, '--out-dir', out, '--per-task', '5', '--val-per-task', '1', '--format', 'jsonl', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual([summary.pooled, summary.train, summary.val, summary.tasks], [2, 1, 1, ['churn-binary']]);
    const train = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const val = readFileSync(join(out, 'val.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.notEqual(train[0].ideaId, val[0].ideaId);
    const pq = await cli(['collect', runDir, '--out-dir', out, '--val-per-task', '1']);
    assert.equal(pq.code, 0, pq.stderr);
    assert.ok(existsSync(join(out, 'train.parquet')) && existsSync(join(out, 'val.parquet')));
  });

  it('writes a self-contained HTML report with the figures and renders it in Chromium', async () => {
    const png = join(root, 'report.png');
    const r = await cli(['report', runDir, '--png', png, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.runs, 4);
    assert.equal(summary.states, 2);
    const html = readFileSync(summary.html, 'utf8');
    assert.ok(!/<script|<link|@import|src=|href="https?:/i.test(html), 'the report must not load anything');
    assert.equal((html.match(/<svg /g) ?? []).length, 4);
    for (const text of ['Avg@2', 'Best@2', 'churn-binary', 'codeact', 'prompted', 'Feature Engineering', 'seek_help frequency']) assert.ok(html.includes(text), text);
    const { data } = buildReport(runDir);
    const curve = Object.fromEntries(data.curves.map((c) => [c.name, c.values]));
    assert.equal(curve.prompted.length, 5);
    assert.ok(curve.prompted[4] > curve.codeact[4] + 10, 'the Ideator run ends higher');
    assert.equal(curve.codeact[1], curve.codeact[4], 'a finished run keeps its best');
    assert.deepEqual(data.seekHelpRate, [0, 0, 1, 0, 0]);
    assert.deepEqual(data.ideaTypes.map((t) => [t.type, t.count, t.improved, t.rate]), [['Feature Engineering', 2, 2, 1]]);
    const bytes = readFileSync(png);
    assert.equal(bytes.subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
    assert.ok(bytes.length > 20_000, `PNG only ${bytes.length} bytes`);
  });

  it('resumes: finished runs are kept, an interrupted run is redone from scratch', async () => {
    const before = impl.requests.length;
    const again = await cli(benchArgs());
    assert.equal(again.code, 0, again.stderr);
    assert.equal(impl.requests.length, before, 'a finished bench made new requests');
    assert.deepEqual(JSON.parse(again.stdout).table, table);

    const db = new Database(join(runDir, 'state', 'bench.sqlite'));
    db.prepare("UPDATE runs SET status = 'running', result = NULL WHERE id = 'churn-binary|codeact|1'").run();
    db.close();
    const resumed = await cli(benchArgs());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(impl.requests.length, before + 3, 'exactly the interrupted baseline run (3 turns) is redone');
    assert.match(resumed.stderr, /resuming, 3\/4 runs already done/);
    assert.deepEqual(JSON.parse(resumed.stdout).table, table, 'deterministic: the redone run scores the same');
  });
});
