/**
 * Idea types: every idea recorded in the history gets one of the paper's six types. The keyword classifier answers
 * at once (no network); when a model provider is configured (not the offline templates) the classification prompt
 * then asks the model, and its answer replaces the keyword guess when it parses. Failures only log: a type is a
 * label for statistics, never worth an error dialog.
 */
import * as vscode from 'vscode';
import type { HistoryStore } from '../../core/history';
import { classifyByKeywords, parseClassification } from '../../core/ideaTypes';
import { buildClassifyMessages } from '../../core/prompts';
import type { IdeaRecord } from '../../core/protocol';
import { makeProvider } from '../ideas/provider';
import type { Services } from '../services';

const OFFLINE = new Set(['template-null', 'template-vague']);

async function classifyWithModel(services: Services, store: HistoryStore, idea: IdeaRecord): Promise<void> {
  const cfg = services.config().config;
  if (OFFLINE.has(cfg.provider)) return;
  try {
    const provider = await makeProvider(services, 'ideator');
    const messages = buildClassifyMessages(null, idea.parsed, { overrideDir: cfg.promptsOverrideDir });
    const completion = await provider.complete(messages, { maxTokens: 512, temperature: 0 });
    const parsed = parseClassification(completion.text);
    if (!parsed) {
      services.output.warn(`Idea ${idea.id}: the model's classification did not parse; keeping the keyword type.`);
      return;
    }
    const current = store.idea(idea.id);
    if (current && current.type !== parsed.type) store.appendIdea({ ...current, type: parsed.type });
    services.output.info(`Idea ${idea.id} classified by ${provider.label} as ${parsed.type}.`);
  } catch (err) {
    services.output.warn(`Idea ${idea.id}: model classification failed (${(err as Error).message}); keeping the keyword type.`);
  }
}

/** Classifies ideas as they are appended (and once, any stored idea still without a type). */
export function registerIdeaClassifier(services: Services, store: HistoryStore): vscode.Disposable {
  const classify = (idea: IdeaRecord): void => {
    if (idea.type) return;
    const type = classifyByKeywords(idea.parsed);
    store.appendIdea({ ...idea, type });
    void classifyWithModel(services, store, idea);
  };
  for (const idea of store.ideas()) classify(idea);
  const off = store.onChange((rec) => {
    if (rec.kind === 'idea') classify(rec.idea);
  });
  return { dispose: off };
}
