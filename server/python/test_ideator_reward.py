"""Tests of the VeRL bridge against a REAL running `ideator serve` (URL in IDEATOR_TEST_SERVER_URL), and of its time
budget against servers that never answer (no URL needed).

Run with the system interpreter to prove the bridge needs nothing beyond the standard library:
    IDEATOR_TEST_SERVER_URL=http://127.0.0.1:PORT /usr/bin/python3 server/python/test_ideator_reward.py
(test/integration/verl-bridge.test.ts starts the server and does exactly that.)
"""

import asyncio
import http.server
import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ideator_reward as bridge  # noqa: E402

URL = os.environ.get("IDEATOR_TEST_SERVER_URL", "")


def state(score=0.5, tag=""):
    return {
        "taskDescription": "Toy task: print acc. " + tag,
        "score": {"value": score, "direction": "higher", "metric": "acc"},
        "code": f'import sys\nprint("acc: {score}")\n',
        "codePath": "solution.py",
    }


def idea(acc, note=""):
    return (
        "ANALYSIS_ON_CURRENT_PROGRESS:\nThe score is flat.\n\nACTION:\nUse this script:\n```python\n"
        f'import sys\n# {note}\nprint("acc: {acc}")\n```\n\nRATIONALE:\nIt prints a better score.\n'
    )


def computed_idea(acc, note=""):
    """An answer whose script computes the number it prints (no guard flag)."""
    return (
        "ANALYSIS_ON_CURRENT_PROGRESS:\nThe score is flat.\n\nACTION:\nUse this script:\n```python\n"
        f'import statistics\n# {note}\nacc = statistics.mean([{acc}, {acc}])\nprint("acc:", acc)\n```\n\nRATIONALE:\nIt computes a better score.\n'
    )


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FlakyProxy:
    """Answers `status` (503) to the first `failures` requests, with Retry-After when given, then forwards to the
    real server."""

    def __init__(self, target, failures, status=503, retry_after=None):
        self.target = target
        self.failures = failures
        self.status = status
        self.retry_after = retry_after
        self.seen = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _relay(self):
                proxy.seen += 1
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if proxy.seen <= proxy.failures:
                    self.send_response(proxy.status)
                    self.send_header("content-type", "application/json")
                    if proxy.retry_after is not None:
                        self.send_header("retry-after", str(proxy.retry_after))
                    payload = b'{"error":{"code":"unavailable","message":"try later"}}'
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                req = urllib.request.Request(proxy.target + self.path, data=body or None, method=self.command, headers={"content-type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=120) as res:
                        payload, status = res.read(), res.status
                except urllib.error.HTTPError as e:
                    payload, status = e.read(), e.code
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _relay
            do_POST = _relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SilentListener:
    """A socket that accepts connections (the kernel completes the handshake) and never answers a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


class ForeverQueued:
    """An HTTP server whose job never finishes: every request is answered with a queued job (after holding it up to
    half a second, as a long-poll would)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(0.5)
                payload = json.dumps({"id": "job_forever", "status": "queued", "results": []}).encode()
                try:
                    self.send_response(202)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bridge hung up: its budget ran out

            do_GET = _answer
            do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TimeBudget(unittest.TestCase):
    """`timeout` bounds the whole call: every socket wait is cut at the time left, whatever the server does."""

    def setUp(self):
        os.environ.pop("IDEATOR_REWARD_ON_ERROR", None)
        os.environ.pop("IDEATOR_REWARD_RETURN", None)

    def assertWithinBudget(self, elapsed, budget):
        self.assertGreater(elapsed, budget - 0.5, f"returned after {elapsed:.1f}s, before its {budget}s budget")
        self.assertLess(elapsed, budget + 1.5, f"returned after {elapsed:.1f}s for a {budget}s budget")

    def test_server_that_never_answers_sync(self):
        silent = SilentListener()
        try:
            t0 = time.monotonic()
            r = bridge.compute_score(solution_str=idea(0.9), ground_truth=state(), url=silent.url, timeout=4, retries=6)
            self.assertWithinBudget(time.monotonic() - t0, 4)
            self.assertEqual((r["bridge_error"], r["score"]), (1.0, 0.0))
            self.assertEqual(set(r), set(bridge.RESULT_KEYS))
        finally:
            silent.close()

    def test_server_that_never_answers_async_and_batch(self):
        silent = SilentListener()
        try:
            t0 = time.monotonic()
            r = asyncio.run(bridge.compute_score_async(solution_str=idea(0.9), ground_truth=state(), url=silent.url, timeout=3, retries=6))
            self.assertWithinBudget(time.monotonic() - t0, 3)
            self.assertEqual(r["bridge_error"], 1.0)
            t0 = time.monotonic()
            outs = bridge.compute_score_batch(
                data_sources=["d"] * 3, solution_strs=[idea(0.9, "a"), idea(0.8, "b"), idea(0.7, "c")], ground_truths=[""] * 3,
                extra_infos=[{"state": state(0.5, "x")}, {"state": state(0.5, "x")}, {"state": state(0.6, "y")}], url=silent.url, timeout=3, retries=6,
            )
            self.assertWithinBudget(time.monotonic() - t0, 3)
            self.assertEqual([o["bridge_error"] for o in outs], [1.0] * 3)
        finally:
            silent.close()

    def test_job_that_never_finishes(self):
        server = ForeverQueued()
        try:
            for call in (
                lambda: bridge.compute_score(solution_str=idea(0.9), ground_truth=state(), url=server.url, timeout=3),
                lambda: asyncio.run(bridge.compute_score_async(solution_str=idea(0.9), ground_truth=state(), url=server.url, timeout=3)),
            ):
                t0 = time.monotonic()
                r = call()
                self.assertWithinBudget(time.monotonic() - t0, 3)
                self.assertEqual(r["bridge_error"], 1.0)
        finally:
            server.close()

    def test_poll_times_stay_inside_the_budget(self):
        now = time.monotonic()
        self.assertEqual(bridge.poll_times(now + 3600)[0], 300)
        wait_sec, sock = bridge.poll_times(now + 3600)
        self.assertLessEqual(sock, wait_sec + bridge.ANSWER_MARGIN)
        wait_sec, sock = bridge.poll_times(now + 4)
        self.assertEqual(wait_sec, 1)
        self.assertLessEqual(sock, 4)
        with self.assertRaises(bridge.BridgeError):
            bridge.poll_times(now - 1)


@unittest.skipUnless(URL, "IDEATOR_TEST_SERVER_URL not set")
class BridgeAgainstRealServer(unittest.TestCase):
    def setUp(self):
        os.environ["IDEATOR_SERVER_URL"] = URL
        os.environ["IDEATOR_REWARD_RETRIES"] = "3"
        # The toy states name no server task: these tests mean printed scores, so they opt in.
        os.environ["IDEATOR_REWARD_ALLOW_PRINTED_SCORE"] = "1"
        os.environ.pop("IDEATOR_REWARD_ON_ERROR", None)
        os.environ.pop("IDEATOR_REWARD_RETURN", None)
        os.environ.pop("IDEATOR_REWARD_BASELINE_SEEDS", None)

    def test_newest_keyword_call_with_extra_kwargs(self):
        r = bridge.compute_score(
            data_source="mle_ideator",
            solution_str=idea(0.9, "kw"),
            ground_truth="",
            extra_info={"state": state(0.5, "kw"), "num_turns": 1, "index": 3},
            reward_router_address=None,
            reward_model_tokenizer=None,
        )
        self.assertEqual(set(r), set(bridge.RESULT_KEYS))
        self.assertEqual(r["score"], 1.0)
        self.assertEqual(r["improved"], 1.0)
        self.assertEqual(r["bridge_error"], 0.0)

    def test_same_keys_for_every_outcome(self):
        s = state(0.5, "keys")
        outs = [
            bridge.compute_score("d", idea(0.9, "k1"), json.dumps(s), None),  # positional, state in ground_truth
            bridge.compute_score("d", idea(0.2, "k2"), json.dumps(s), None),
            bridge.compute_score("d", "no format at all", json.dumps(s), None),
            bridge.compute_score("d", idea(0.9), "", {"nothing": "here"}),  # no state -> bridge error
        ]
        self.assertTrue(all(set(o) == set(bridge.RESULT_KEYS) for o in outs))
        self.assertEqual([o["score"] for o in outs], [1.0, 0.0, -1.0, 0.0])
        self.assertEqual([o["format_error"] for o in outs], [0.0, 0.0, 1.0, 0.0])
        self.assertEqual(outs[3]["bridge_error"], 1.0)
        self.assertTrue(all(isinstance(v, float) for o in outs for v in o.values()))

    def test_float_return(self):
        r = bridge.compute_score(solution_str=idea(0.7, "float"), ground_truth=state(0.5, "float"), extra_info=None, return_kind="float")
        self.assertEqual(r, 1.0)

    def test_async_variant_many_concurrent(self):
        async def main():
            s = state(0.5, "async")
            calls = [
                bridge.compute_score_async(data_source="d", solution_str=idea(0.5 + (i - 6) / 100, f"a{i}"), ground_truth="", extra_info={"state": s})
                for i in range(12)
            ]
            return await asyncio.gather(*calls)

        t0 = time.monotonic()
        outs = asyncio.run(main())
        self.assertEqual([o["score"] for o in outs], [0.0] * 7 + [1.0] * 5)
        self.assertLess(time.monotonic() - t0, 120)

    def test_legacy_batch_variant_groups_by_state(self):
        a, b = state(0.5, "batch-a"), state(0.8, "batch-b")
        sols = [idea(0.6, "b1"), idea(0.6, "b2"), "broken", idea(0.9, "b3"), idea(0.6, "b4")]
        extras = [{"state": a}, {"state": b}, {"state": a}, {"state": b}, {"state": a}]
        outs = bridge.compute_score_batch(data_sources=["d"] * 5, solution_strs=sols, ground_truths=[""] * 5, extra_infos=extras)
        self.assertEqual([o["score"] for o in outs], [1.0, 0.0, -1.0, 1.0, 1.0])

    def test_retries_5xx_then_succeeds(self):
        proxy = FlakyProxy(URL, failures=2)
        try:
            r = bridge.compute_score(solution_str=idea(0.95, "retry"), ground_truth=state(0.5, "retry"), url=proxy.url, retries=4)
            self.assertEqual(r["score"], 1.0)
            self.assertEqual(r["bridge_error"], 0.0)
            self.assertGreaterEqual(proxy.seen, 3)
        finally:
            proxy.close()

    def test_honours_retry_after_on_429_without_using_up_retries(self):
        # Back-pressure (queue_full): the server says when to come back; the bridge waits that long, as often as the
        # budget allows, even with retries=0.
        for call in ("sync", "async"):
            proxy = FlakyProxy(URL, failures=2, status=429, retry_after=1)
            try:
                t0 = time.monotonic()
                kw = dict(solution_str=idea(0.95, f"retry-after-{call}"), ground_truth=state(0.5, f"retry-after-{call}"), url=proxy.url, retries=0)
                r = bridge.compute_score(**kw) if call == "sync" else asyncio.run(bridge.compute_score_async(**kw))
                took = time.monotonic() - t0
                self.assertEqual(r["bridge_error"], 0.0, r)
                self.assertEqual(r["score"], 1.0)
                self.assertGreaterEqual(took, 2.0, "waited the Retry-After twice")
                self.assertGreaterEqual(proxy.seen, 3)
            finally:
                proxy.close()

    def test_retry_after_beyond_the_budget_gives_up_in_time(self):
        proxy = FlakyProxy(URL, failures=100, status=429, retry_after=30)
        try:
            t0 = time.monotonic()
            r = bridge.compute_score(solution_str=idea(0.9, "too-long"), ground_truth=state(0.5, "too-long"), url=proxy.url, timeout=4)
            self.assertEqual(r["bridge_error"], 1.0)
            self.assertLess(time.monotonic() - t0, 6)
        finally:
            proxy.close()

    def test_unreachable_server_never_raises_by_default(self):
        t0 = time.monotonic()
        r = bridge.compute_score(solution_str=idea(0.9), ground_truth=state(), url=f"http://127.0.0.1:{closed_port()}", retries=1)
        self.assertEqual(r["bridge_error"], 1.0)
        self.assertEqual(r["score"], 0.0)
        self.assertLess(time.monotonic() - t0, 10)
        r = asyncio.run(bridge.compute_score_async(solution_str=idea(0.9), ground_truth=state(), url=f"http://127.0.0.1:{closed_port()}", retries=0))
        self.assertEqual(r["bridge_error"], 1.0)

    def test_raise_mode(self):
        with self.assertRaises(bridge.BridgeError):
            bridge.compute_score(solution_str=idea(0.9), ground_truth=state(), url=f"http://127.0.0.1:{closed_port()}", retries=0, on_error="raise")

    def test_client_errors_are_not_retried(self):
        proxy = FlakyProxy(URL, failures=0)
        try:
            r = bridge.compute_score(solution_str=idea(0.9), ground_truth=state(), url=proxy.url, scheme="bogus", retries=5)
            self.assertEqual(r["bridge_error"], 1.0)
            self.assertEqual(proxy.seen, 1, "a 400 is final")
        finally:
            proxy.close()

    def test_printed_scores_are_opt_in(self):
        os.environ.pop("IDEATOR_REWARD_ALLOW_PRINTED_SCORE", None)
        proxy = FlakyProxy(URL, failures=0)
        try:
            r = bridge.compute_score(solution_str=idea(0.99, "optin"), ground_truth=state(0.5, "optin"), url=proxy.url, retries=5)
            self.assertEqual(r["bridge_error"], 1.0)
            self.assertEqual(r["score"], 0.0, "a forged print earns nothing without the opt-in")
            self.assertEqual(proxy.seen, 1, "a 400 no_grader is final")
        finally:
            proxy.close()
        with self.assertRaisesRegex(bridge.BridgeError, "no_grader"):
            bridge.compute_score(solution_str=idea(0.99, "optin"), ground_truth=state(0.5, "optin"), on_error="raise")
        # Opting in per sample (extra_info) or per call (keyword) scores the printed metric, marked self-reported.
        per_sample = bridge.compute_score(solution_str=idea(0.99, "optin"), ground_truth="", extra_info={"state": state(0.5, "optin"), "allow_printed_score": True})
        per_call = asyncio.run(bridge.compute_score_async(solution_str=idea(0.98, "optin"), ground_truth=state(0.5, "optin"), allow_printed_score=True))
        for r in (per_sample, per_call):
            self.assertEqual((r["score"], r["self_reported"], r["bridge_error"]), (1.0, 1.0, 0.0))
        # A sample can also refuse it when the bridge allows it.
        os.environ["IDEATOR_REWARD_ALLOW_PRINTED_SCORE"] = "1"
        r = bridge.compute_score(solution_str=idea(0.97, "optin"), ground_truth="", extra_info={"state": state(0.5, "optin"), "allow_printed_score": False})
        self.assertEqual(r["bridge_error"], 1.0)

    def test_guard_flags_have_aligned_keys(self):
        s = state(0.5, "guard")
        sols = [idea(0.9, "forged"), computed_idea(0.9, "computed"), "no format", computed_idea(0.9, "nostate")]
        extras = [{"state": s}, {"state": s}, {"state": s}, {"nothing": "here"}]
        outs = bridge.compute_score_batch(data_sources=["d"] * 4, solution_strs=sols, ground_truths=[""] * 4, extra_infos=extras)
        self.assertTrue(all(list(o) == list(bridge.RESULT_KEYS) for o in outs), [sorted(o) for o in outs])
        self.assertTrue(all(isinstance(v, float) for o in outs for v in o.values()))
        self.assertEqual([o["score"] for o in outs], [1.0, 1.0, -1.0, 0.0], "the guard does not change the reward")
        self.assertEqual([o["guard_prints_metric"] for o in outs], [1.0, 0.0, 0.0, 0.0])
        self.assertEqual([o["guard_flagged"] for o in outs], [1.0, 0.0, 0.0, 0.0])
        self.assertEqual([o["guard_submission_path"] for o in outs], [0.0] * 4)
        self.assertEqual([o["self_reported"] for o in outs], [1.0, 1.0, 1.0, 0.0])
        self.assertEqual([o["bridge_error"] for o in outs], [0.0, 0.0, 0.0, 1.0])

    def test_group_figures_are_aligned_keys(self):
        """The collapse monitor's group_* keys: the job's diversity on every sample of a group, 0 on a bridge error."""
        s = state(0.5, "collapse")
        sols = [idea(0.9, "same"), idea(0.9, "same"), idea(0.9, "same"), idea(0.9, "other"), computed_idea(0.9, "nostate")]
        extras = [{"state": s}] * 4 + [{"nothing": "here"}]
        outs = bridge.compute_score_batch(data_sources=["d"] * 5, solution_strs=sols, ground_truths=[""] * 5, extra_infos=extras)
        self.assertTrue(all(list(o) == list(bridge.RESULT_KEYS) for o in outs), [sorted(o) for o in outs])
        self.assertTrue(all(isinstance(v, float) for o in outs for v in o.values()))
        self.assertEqual([o["score"] for o in outs], [1.0, 1.0, 1.0, 1.0, 0.0])
        # One group of four answers: three identical, one differing by a comment word (a near-duplicate too).
        self.assertEqual([o["group_distinct"] for o in outs], [2.0] * 4 + [0.0])
        self.assertEqual([o["group_near_duplicate_rate"] for o in outs], [0.75] * 4 + [0.0])
        self.assertEqual([o["group_zero_variance"] for o in outs], [1.0] * 4 + [0.0], "all rewards equal: no GRPO signal")
        self.assertEqual([o["group_type_entropy"] for o in outs], [0.0] * 5, "one type")
        # A job without `diversity` (an older server) gives the same keys, all 0.
        r = bridge._result_dict({"reward": 1, "status": "improved"}, bridge._config({}), diversity=None)
        self.assertEqual(list(r), list(bridge.RESULT_KEYS))
        self.assertEqual([r[k] for k in bridge.GROUP_KEYS], [0.0] * 4)

    def test_noise_aware_baseline_keys(self):
        """baseline_seeds / baseline_noise / baseline_threshold: k seeded runs of a C_t whose printed score follows
        IDEATOR_SEED (seeds 0, 1, 2 print 0.5844, 0.5134, 0.5956); 0 when p_t was not measured."""
        s = state(0.5, "noise")
        s["code"] = "import os, random\nrandom.seed(int(os.environ.get('IDEATOR_SEED', '0')))\nprint('acc:', round(0.5 + random.random() * 0.1, 4))\n"
        paper = bridge.compute_score("d", idea(0.58, "noise-lucky"), "", {"state": s})
        self.assertEqual([paper[k] for k in ("score",) + bridge.BASELINE_KEYS], [1.0, 0.0, 0.0, 0.0], "k = 1: the state's 0.5, not measured")
        os.environ["IDEATOR_REWARD_BASELINE_SEEDS"] = "3"
        outs = bridge.compute_score_batch(data_sources=["d"] * 2, solution_strs=[idea(0.58, "noise-lucky"), idea(0.9, "noise-real")], ground_truths=[""] * 2, extra_infos=[{"state": s}] * 2)
        self.assertTrue(all(list(o) == list(bridge.RESULT_KEYS) for o in outs))
        self.assertEqual([o["score"] for o in outs], [0.0, 1.0], "0.58 is inside C_t's spread over 3 seeds")
        self.assertEqual([o["baseline_seeds"] for o in outs], [3.0, 3.0])
        self.assertAlmostEqual(outs[0]["baseline_noise"], 0.044578, places=5)
        self.assertAlmostEqual(outs[0]["baseline_threshold"], 0.044578 * (4 / 3) ** 0.5, places=5)
        self.assertEqual(outs[1]["baseline_threshold"], outs[0]["baseline_threshold"])
        os.environ["IDEATOR_REWARD_BASELINE_SEEDS"] = "three"  # a bad value: a bridge error per call, never a raise
        bad = bridge.compute_score("d", idea(0.9, "noise-real"), "", {"state": s})
        self.assertEqual((bad["score"], bad["bridge_error"]), (0.0, 1.0))
        os.environ.pop("IDEATOR_REWARD_BASELINE_SEEDS")
        with self.assertRaisesRegex(bridge.BridgeError, "BASELINE_SEEDS.*1-16.*17"):
            bridge.compute_score("d", idea(0.9, "noise-real"), "", {"state": s}, baseline_seeds=17, on_error="raise")


if __name__ == "__main__":
    unittest.main(verbosity=2)
