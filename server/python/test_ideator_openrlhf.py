"""Tests of the OpenRLHF reward file (ideator_openrlhf.py) and of POST /get_reward against a REAL `ideator serve`.

test/integration/openrlhf.test.ts starts the server, registers the states and writes the rows these tests read:
    IDEATOR_TEST_SERVER_URL=http://127.0.0.1:PORT IDEATOR_TEST_OPENRLHF_ROWS=rows.json python3 test_ideator_openrlhf.py

- LoadedAsOpenRLHFDoes (standard library only; the integration test runs it with the system python, -I): the file is
  imported with importlib.util.spec_from_file_location("reward_func", path) and reward_func(queries, prompts,
  labels) is called with one-element lists in a thread of a running event loop (asyncio.to_thread), as OpenRLHF's
  SingleTurnAgentExecutor does.
- ThroughOpenRLHFsOwnCode (needs aiohttp: the project venv): OpenRLHF 0.11.2's own agent.py
  (test/fixtures/openrlhf-0.11.2, byte for byte) loads the file and calls it from execute() after a (fake) vLLM
  generation, and its HTTP client posts its exact body to /get_reward.
"""

import asyncio
import hashlib
import importlib.util
import json
import logging
import os
import socket
import sys
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REWARD_FILE = os.path.join(HERE, "ideator_openrlhf.py")
AGENT_PY = os.path.join(HERE, "..", "..", "test", "fixtures", "openrlhf-0.11.2", "agent.py")
AGENT_SHA256 = "bfe2cfefc53c664c1e66e3a60ab7683be8c4fc87064b1169275c339bf9d47331"
URL = os.environ.get("IDEATOR_TEST_SERVER_URL", "")
ROWS = json.load(open(os.environ["IDEATOR_TEST_OPENRLHF_ROWS"])) if os.environ.get("IDEATOR_TEST_OPENRLHF_ROWS") else {}

try:
    import aiohttp  # noqa: F401

    HAVE_AIOHTTP = True
except ImportError:
    HAVE_AIOHTTP = False


def load_like_openrlhf(path=REWARD_FILE):
    """OpenRLHF 0.11.2, openrlhf/utils/agent.py, SingleTurnAgentExecutor.__init__."""
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chat(messages):
    """Qwen3's chat template with the generation prompt: the `prompts` OpenRLHF passes (--data.apply_chat_template)."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


def sample(row, answer):
    """(query, prompt, label) as OpenRLHF builds them: query = prompt + answer + end of turn, decoded with special tokens."""
    prompt = chat(row["prompt"])
    return prompt + answer + "<|im_end|>", prompt, row["label"]


def idea(acc, note=""):
    return (
        "ANALYSIS_ON_CURRENT_PROGRESS:\nThe score is flat.\n\nACTION:\nUse this script:\n```python\n"
        f'import time\n# {note}\nprint("acc: {acc}")\n```\n\nRATIONALE:\nIt prints a better score.\n'
    )


def slow_idea(acc, seconds, note=""):
    return idea(acc, note).replace("import time\n", f"import time\ntime.sleep({seconds})\n")


def call_in_thread(module, queries, prompts, labels, **kwargs):
    """asyncio.to_thread(module.reward_func, queries, prompts, labels) from a running event loop."""

    async def main():
        return await asyncio.to_thread(module.reward_func, queries, prompts, labels, **kwargs)

    return asyncio.run(main())


def env_for(test):
    os.environ["IDEATOR_SERVER_URL"] = URL
    os.environ["IDEATOR_REWARD_RETRIES"] = "2"
    # The toy rows' states name no server task: they are scored from the metric the run prints, opted in here.
    os.environ["IDEATOR_REWARD_ALLOW_PRINTED_SCORE"] = "1"
    for k in ("IDEATOR_REWARD_ON_ERROR", "IDEATOR_REWARD_SCORES", "IDEATOR_OPENRLHF_THREADS", "IDEATOR_REWARD_BASELINE_SEEDS"):
        os.environ.pop(k, None)


@unittest.skipUnless(URL and ROWS, "IDEATOR_TEST_SERVER_URL / IDEATOR_TEST_OPENRLHF_ROWS not set")
class LoadedAsOpenRLHFDoes(unittest.TestCase):
    def setUp(self):
        env_for(self)
        self.module = load_like_openrlhf()

    def test_rewards_scores_and_logs_per_outcome(self):
        toy = ROWS["toy"]  # p_t = 0.5, scored from the printed acc
        outs = [call_in_thread(self.module, *([x] for x in sample(toy, answer))) for answer in (idea(0.9, "up"), idea(0.2, "down"), "no format at all")]
        self.assertEqual([o["rewards"] for o in outs], [[1.0], [0.0], [-1.0]])
        self.assertEqual([o["scores"] for o in outs], [[1.0], [0.0], [0.0]], "scores: 1 if improved, else 0")
        for o in outs:
            self.assertEqual(list(o["extra_logs"]), list(self.module.EXTRA_LOG_KEYS))
            self.assertTrue(all(isinstance(v, float) for v in o["extra_logs"].values()), o["extra_logs"])
        self.assertEqual([o["extra_logs"]["improved"] for o in outs], [1.0, 0.0, 0.0])
        self.assertEqual([o["extra_logs"]["format_error"] for o in outs], [0.0, 0.0, 1.0])
        self.assertEqual([o["extra_logs"]["self_reported"] for o in outs], [1.0, 1.0, 1.0])
        self.assertEqual([o["extra_logs"]["bridge_error"] for o in outs], [0.0, 0.0, 0.0])
        # p_t is the state's own score here (no task, k = 1): not measured, so the noise figures are 0.
        for key in ("baseline_seeds", "baseline_noise", "baseline_threshold"):
            self.assertEqual([o["extra_logs"][key] for o in outs], [0.0, 0.0, 0.0], key)
        # The same sample again is served from the store.
        again = call_in_thread(self.module, *([x] for x in sample(toy, idea(0.9, "up"))))
        self.assertEqual((again["rewards"], again["extra_logs"]["cached"]), ([1.0], 1.0))

    def test_noise_aware_reward(self):
        """The noisy row's C_t prints 0.5 + U(0, 0.1) seeded by IDEATOR_SEED; its state claims 0.5."""
        q, p, l = sample(ROWS["noisy"], idea(0.59, "lucky"))
        paper = call_in_thread(self.module, [q], [p], [l])
        self.assertEqual((paper["rewards"], paper["extra_logs"]["baseline_seeds"]), ([1.0], 0.0), "k = 1: any gain over the state's 0.5 pays")
        os.environ["IDEATOR_REWARD_BASELINE_SEEDS"] = "3"
        noisy = call_in_thread(self.module, [q], [p], [l])
        logs = noisy["extra_logs"]
        self.assertEqual(list(logs), list(self.module.EXTRA_LOG_KEYS))
        self.assertEqual((logs["baseline_seeds"], logs["bridge_error"]), (3.0, 0.0), logs)
        self.assertGreater(logs["baseline_noise"], 0.01, logs)
        self.assertAlmostEqual(logs["baseline_threshold"], logs["baseline_noise"] * (4 / 3) ** 0.5, places=9)
        self.assertEqual((noisy["rewards"], noisy["scores"], logs["not_improved"]), ([0.0], [0.0], 1.0), "0.59 is inside C_t's own spread over 3 seeds")
        os.environ.pop("IDEATOR_REWARD_BASELINE_SEEDS")
        q2, _, _ = sample(ROWS["noisy"], idea(0.9, "real"))
        real = call_in_thread(self.module, [q2], [p], [l], baseline_seeds=3)  # the keyword, as the env var
        self.assertEqual((real["rewards"], real["extra_logs"]["baseline_seeds"]), ([1.0], 3.0))
        self.assertEqual(real["extra_logs"]["baseline_noise"], logs["baseline_noise"], "p_t measured once for the state")
        for bad in ("0", "17", "three"):
            out = call_in_thread(self.module, [q2], [p], [l], baseline_seeds=bad)
            self.assertEqual((out["rewards"], out["extra_logs"]["bridge_error"]), ([0.0], 1.0), bad)
        with self.assertRaisesRegex(self.module.BridgeError, "BASELINE_SEEDS.*1-16.*'17'"):
            self.module.reward_func([q2], [p], [l], baseline_seeds="17", on_error="raise")

    def test_linear_scores(self):
        q, p, l = sample(ROWS["toy"], idea(0.3, "linear"))
        out = call_in_thread(self.module, [q], [p], [l], scores="linear")
        self.assertEqual((out["rewards"], out["scores"]), ([0.0], [0.5]))

    def test_a_cut_prompt_still_finds_the_answer(self):
        q, p, l = sample(ROWS["toy"], idea(0.95, "cut"))
        out = call_in_thread(self.module, [q[len(p) // 2:]], [p], [l])  # OpenRLHF cut the prompt from the left
        self.assertEqual(out["rewards"], [1.0])

    def test_label_errors_are_bridge_errors_not_exceptions(self):
        q, p, _ = sample(ROWS["toy"], idea(0.9, "labels"))
        for label in ("st_" + "0" * 32, "not-a-reference", ""):
            t0 = time.monotonic()
            out = call_in_thread(self.module, [q], [p], [label])
            self.assertEqual((out["rewards"], out["scores"], out["extra_logs"]["bridge_error"]), ([0.0], [0.0], 1.0), label)
            self.assertEqual(list(out["extra_logs"]), list(self.module.EXTRA_LOG_KEYS))
            self.assertLess(time.monotonic() - t0, 5, "a 400 (missing_label) is final, not retried")
        with self.assertRaisesRegex(self.module.BridgeError, "missing_label.*--data.label_key"):
            self.module.reward_func([q], [p], [""], on_error="raise")

    def test_waits_through_reward_pending(self):
        q, p, l = sample(ROWS["toy"], slow_idea(0.97, 4, "slow"))
        t0 = time.monotonic()
        out = call_in_thread(self.module, [q], [p], [l], wait_sec=1)  # the server answers 503 reward_pending each second
        self.assertEqual(out["rewards"], [1.0])
        self.assertGreater(time.monotonic() - t0, 3)

    def test_time_budget_against_a_server_that_never_answers(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        try:
            q, p, l = sample(ROWS["toy"], idea(0.9))
            t0 = time.monotonic()
            out = call_in_thread(self.module, [q], [p], [l], url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=3, retries=6)
            elapsed = time.monotonic() - t0
            self.assertEqual(out["extra_logs"]["bridge_error"], 1.0)
            self.assertTrue(2.5 < elapsed < 4.5, f"{elapsed:.1f}s for a 3 s budget")
        finally:
            silent.close()

    def test_threads_knob_widens_the_loading_loop_pool(self):
        os.environ["IDEATOR_OPENRLHF_THREADS"] = "200"

        async def load_inside_a_loop():  # OpenRLHF's vLLM actor has an async __init__: the file loads inside its loop
            load_like_openrlhf()
            return asyncio.get_running_loop()._default_executor._max_workers

        self.assertEqual(asyncio.run(load_inside_a_loop()), 200)


class FakeTokenizer:
    """Characters as token ids: decode(encode(x)) == x, special tokens included (what execute() needs)."""

    class _Ids(list):
        def tolist(self):
            return list(self)

    def __call__(self, text, add_special_tokens=False, return_tensors=None):
        return {"input_ids": [FakeTokenizer._Ids(ord(c) for c in text)]}

    def decode(self, ids, skip_special_tokens=False):
        return "".join(chr(i) for i in ids)


class FakeEngine:
    """A vLLM engine that 'generates' a fixed answer (ending with Qwen's end of turn)."""

    def __init__(self, answer):
        self.answer = answer + "<|im_end|>"

    async def generate(self, token_ids, params, multi_modal_data=None):
        ids = [ord(c) for c in self.answer][: params.max_tokens]
        out = types.SimpleNamespace(token_ids=ids, text="".join(chr(i) for i in ids), finish_reason="stop", logprobs=None)
        return types.SimpleNamespace(outputs=[out])


def load_openrlhf_agent():
    with open(AGENT_PY, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == AGENT_SHA256, f"{AGENT_PY} is not OpenRLHF 0.11.2's agent.py byte for byte ({digest})"
    # As OpenRLHF's own tests/test_agent.py: its logging helper stands in for the package (torch, deepspeed).
    sys.modules.setdefault("openrlhf", types.ModuleType("openrlhf"))
    sys.modules.setdefault("openrlhf.utils", types.ModuleType("openrlhf.utils"))
    sys.modules["openrlhf.utils.logging_utils"] = types.SimpleNamespace(init_logger=logging.getLogger)
    spec = importlib.util.spec_from_file_location("_openrlhf_agent", AGENT_PY)
    agent = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agent)
    return agent


@unittest.skipUnless(URL and ROWS and HAVE_AIOHTTP, "needs the server, the rows and aiohttp (project venv)")
class ThroughOpenRLHFsOwnCode(unittest.TestCase):
    def setUp(self):
        env_for(self)
        self.agent = load_openrlhf_agent()

    def execute(self, executor, row, answer):
        prompt = chat(row["prompt"])
        params = types.SimpleNamespace(max_tokens=None, logprobs=None)
        return asyncio.run(executor.execute(prompt, row["label"], params, 64000, FakeTokenizer(), FakeEngine(answer)))

    def test_reward_file_loaded_and_called_by_openrlhf(self):
        executor = self.agent.SingleTurnAgentExecutor(REWARD_FILE)
        self.assertIsNotNone(executor.reward_func, "OpenRLHF found reward_func in the file")
        out = self.execute(executor, ROWS["toy"], idea(0.91, "openrlhf-func"))
        self.assertEqual((out["reward"], out["scores"]), ([1.0], [1.0]))
        self.assertEqual(out["extra_logs"]["improved"], 1.0)
        self.assertEqual(list(out["extra_logs"]), list(load_like_openrlhf().EXTRA_LOG_KEYS))
        self.assertEqual(out["label"], ROWS["toy"]["label"])

    def test_get_reward_with_openrlhfs_http_client(self):
        url = f"{URL}/get_reward?allowPrintedScore=1"
        executor = self.agent.SingleTurnAgentExecutor(url)
        self.assertIsNone(executor.reward_func)
        out = self.execute(executor, ROWS["toy"], idea(0.92, "openrlhf-http"))
        self.assertEqual((out["reward"], out["scores"]), ([1.0], [1.0]))
        self.assertEqual(out["extra_logs"]["improved"], [1.0])
        # Its batch call: the exact body {"query", "prompts", "labels"}, several samples at once.
        qs, ps, ls = zip(*(sample(ROWS["toy"], a) for a in (idea(0.93, "b1"), idea(0.1, "b2"), "broken")))
        (reply,) = asyncio.run(executor._fetch_rewards_via_http(list(qs), list(ps), list(ls)))
        self.assertEqual(reply["rewards"], [1.0, 0.0, -1.0])
        self.assertEqual(reply["extra_logs"]["baseline_seeds"], [0.0, 0.0, 0.0], "p_t not measured: 0 on every sample")
        self.assertEqual(reply["scores"], [1.0, 0.0, 0.0])
        self.assertEqual(reply["extra_logs"]["format_error"], [0.0, 0.0, 1.0])
        # The noise-aware reward asked for in the URL (OpenRLHF's client sends the body only).
        noisy = self.agent.SingleTurnAgentExecutor(f"{URL}/get_reward?allowPrintedScore=1&baselineSeeds=3")
        (nreply,) = asyncio.run(noisy._fetch_rewards_via_http(*map(list, zip(*(sample(ROWS["noisy"], idea(a, "http-noise")) for a in (0.9, 0.59))))))
        self.assertEqual((nreply["rewards"], nreply["extra_logs"]["baseline_seeds"]), ([1.0, 0.0], [3.0, 3.0]))
        self.assertTrue(all(v > 0 for v in nreply["extra_logs"]["baseline_threshold"]), nreply["extra_logs"])

    def test_real_task_state_from_the_export(self):
        if "task" not in ROWS:
            self.skipTest("no task row")
        executor = self.agent.SingleTurnAgentExecutor(REWARD_FILE)
        out = self.execute(executor, ROWS["task"], ROWS["task_answer"])
        self.assertEqual(out["extra_logs"]["bridge_error"], 0.0, out)
        self.assertEqual((out["reward"], out["scores"], out["extra_logs"]["improved"], out["extra_logs"]["self_reported"]), ([1.0], [1.0], 1.0, 0.0), out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
