/**
 * Realistic Ideator answers for the demo workspace's train.py (shared by the extension-host suite and the e2e):
 * the paper's three fields, a python block that redefines build_model(), and a little thinking.
 */
import { formatIdea } from '../../../src/core/idea';
import type { IdeaRecord } from '../../../src/core/protocol';

export const GOOD_THINKING = 'The log shows lbfgs ConvergenceWarning at max_iter=200 and the features span 4 orders of magnitude.';

export const GOOD_ANSWER = `ANALYSIS_ON_CURRENT_PROGRESS: The baseline fits an unscaled logistic regression; lbfgs stops at max_iter=200 with a ConvergenceWarning, so the coefficients are not at the optimum and the validation AUC (0.994) is limited by optimisation, not by the model class. The 30 features range from ~0.001 (fractal dimension) to ~2500 (worst area).

ACTION: Standardise the features inside a pipeline and give the solver room to converge:

\`\`\`python
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build_model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
\`\`\`

RATIONALE: Scaling makes the problem well conditioned, so lbfgs converges in a few dozen iterations; a slightly stronger L2 penalty (C=0.5) keeps the scaled coefficients from overfitting 455 training rows. Both changes are cheap and usually add 0.002-0.005 AUC on this data.`;

/** The file content expected after applying GOOD_ANSWER to the demo train.py. */
/** GOOD_ANSWER as a stored idea for train.py (its code block a complete script), parsed fields overridable. */
export function goodIdeaRecord(id: string, over: Partial<IdeaRecord['parsed']> = {}): IdeaRecord {
  const code = /```python\n([\s\S]*?)\n```/.exec(GOOD_ANSWER)![1];
  return {
    id,
    createdAt: new Date().toISOString(),
    raw: GOOD_ANSWER,
    parsed: { ok: true, analysis: 'unscaled features', action: 'Standardise the features inside a pipeline.', rationale: 'conditioning', codeBlocks: [{ lang: 'python', code, isDiff: false }], errors: [], ...over },
    provider: 'openai',
    model: 'test',
    targetPath: 'train.py',
  };
}

export function expectedAfterGood(original: string): string {
  return original
    .replace(
      'from sklearn.model_selection import train_test_split\n',
      'from sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n',
    )
    .replace('    return LogisticRegression(max_iter=200)', '    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))');
}

/**
 * An answer that fails the format check: prose without the three fields, carrying markup that must stay text
 * (the panel escapes every model string; a rendered <img> would set the marker through its onerror handler).
 */
export const MALFORMED_ANSWER =
  'You could try gradient boosting, maybe. <img src=x onerror="document.body.dataset.pwned=1"> Or more data. Hard to say without more context!';

const idea = (analysis: string, action: string, code: string, rationale: string) =>
  formatIdea({ analysis, action: `${action}\n\n\`\`\`python\n${code}\n\`\`\``, rationale });
/** Three more ideas for the demo workspace (Ask for N Ideas, verification e2e). val_auc on the demo split: GOOD 0.995 > baseline 0.994 > MORE_ITER 0.9924 > STRONG_L2 0.9775 > FOREST 0.9729. */
export const MORE_ITER = idea(
  'lbfgs stops at max_iter=200 before it converges.',
  'Give the solver more iterations:',
  'def build_model():\n    return LogisticRegression(max_iter=5000)',
  'A converged fit may generalise better.',
);
export const STRONG_L2 = idea(
  'The coefficients of the large features may overfit 455 rows.',
  'Regularise much more strongly:',
  'def build_model():\n    return LogisticRegression(C=0.0001, max_iter=200)',
  'A small C shrinks the coefficients.',
);
export const FOREST = idea(
  'A linear model may miss interactions between the 30 features.',
  'Switch to a random forest:',
  'from sklearn.ensemble import RandomForestClassifier\n\n\ndef build_model():\n    return RandomForestClassifier(n_estimators=200, random_state=0)',
  'Trees capture interactions without scaling.',
);
