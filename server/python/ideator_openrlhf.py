"""OpenRLHF reward function for training an Ideator with execution-based rewards (MLE-Ideator, paper section 3.2).

Standard library only. Give OpenRLHF this file:

    --reward.remote_url /path/to/ideator_openrlhf.py --data.label_key label

OpenRLHF imports it (importlib.util.spec_from_file_location("reward_func", path)) and, after each rollout, calls
reward_func(queries, prompts, labels) in a thread with one-element lists: `queries` = the prompt + the Ideator's
answer decoded with special tokens, `prompts` = the chat-templated prompt, `labels` = the dataset column named by
--data.label_key. The rows `ideator export --format openrlhf` (or `ideator collect --format openrlhf`) writes carry
the state's reference (st_...) in `label`; the reward server resolves it to the full state, registered there by the
same command with --server URL (docs/openrlhf.md).

Each call sends OpenRLHF's triple to the server's POST /get_reward, which cuts the answer out of the query, runs it
through the same pipeline as POST /v1/rewards (implement, run in the sandbox, grade) and answers when the reward is
there. Unlike OpenRLHF's own HTTP client (180 s per try), this file waits as long as the run takes: the server holds
each request up to waitSec and answers 503 reward_pending while the run goes on; the same request again joins the
same job. The whole call is bounded by IDEATOR_REWARD_TIMEOUT, every socket wait included.

Returns {"rewards": [r], "scores": [s], "extra_logs": {name: value}}: r is the reward (paper: +1 improved, 0 not
improved or failed, -1 format error); s in [0, 1] is what OpenRLHF's dynamic filtering reads: 1 if the idea improved,
else 0 (IDEATOR_REWARD_SCORES=linear: (r + 1) / 2). extra_logs has the same keys for every sample: the status
one-hots, bridge_error, duration_s, self_reported, the reward-hacking guard's flags, cached, and the noise-aware
reward's baseline_seeds / baseline_noise / baseline_threshold (0 when p_t was not measured). It never raises by
default: a failure gives reward IDEATOR_REWARD_FAILURE_SCORE (0.0), score 0 and bridge_error = 1, with a log line.

Environment:
  IDEATOR_SERVER_URL        server root (default http://127.0.0.1:8787)
  IDEATOR_SERVER_TOKEN      bearer token (required when the server is bound beyond loopback)
  IDEATOR_REWARD_SCHEME     paper | partial | sigmoid (default paper)
  IDEATOR_REWARD_SCORES     improved (default) | linear: how `scores` (0-1) come from the result
  IDEATOR_REWARD_TIMEOUT    seconds one call may take in total, waits and retries included (default 3600)
  IDEATOR_REWARD_RETRIES    retries on connection errors, timeouts, 429 and 5xx other than reward_pending (default 6)
  IDEATOR_REWARD_ON_ERROR   zero (default: log and return the failure reward) | raise
  IDEATOR_REWARD_FAILURE_SCORE  reward of a sample whose reward could not be obtained (default 0.0)
  IDEATOR_REWARD_ALLOW_PRINTED_SCORE  1 / true: states no server task grades are scored from printed metrics
  IDEATOR_REWARD_BASELINE_SEEDS  k (1-16): measure p_t over k seeded runs of C_t and count an idea as improved only
                            beyond their noise (noise-aware reward, docs/openrlhf.md; default: the task's setting,
                            else 1); extra_logs then carry k, the std of the k scores and the improvement threshold
  IDEATOR_OPENRLHF_THREADS  OpenRLHF runs reward_func in its event loop's default thread pool (min(32, CPUs + 4)
                            threads), so at most that many rewards wait at once per vLLM engine. Set a number to
                            give that loop a pool this large when OpenRLHF loads this file (default: leave it).
Keyword arguments (OpenRLHF passes none) override: url, token, scheme, scores, timeout, retries, on_error,
failure_score, allow_printed_score, baseline_seeds, wait_sec (longest hold per request, default 300).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger("ideator_openrlhf")

# The server's extra_logs keys (server/src/rewards/openrlhf.ts EXTRA_LOG_KEYS), in order; a failure here has them all.
EXTRA_LOG_KEYS = (
    "improved", "not_improved", "exec_failed", "timeout", "format_error", "bridge_error", "duration_s", "self_reported",
    "guard_flagged", "guard_touches_evaluation", "guard_prints_metric", "guard_submission_path", "guard_reads_outside_data",
    "cached", "baseline_seeds", "baseline_noise", "baseline_threshold",
)
OVERRIDES = ("url", "token", "scheme", "scores", "timeout", "retries", "on_error", "failure_score", "allow_printed_score", "baseline_seeds", "wait_sec")
MAX_BASELINE_SEEDS = 16  # src/core/protocol.ts MAX_BASELINE_SEEDS

# A request asks the server to hold it up to waitSec; the socket waits ANSWER_MARGIN longer at most, and never past
# the call's deadline.
ANSWER_MARGIN = 5.0
_RETRYABLE = {429, 500, 502, 503, 504}


class BridgeError(RuntimeError):
    """The reward could not be obtained from the server."""


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class _Config:
    def __init__(self, overrides: Dict[str, Any]) -> None:
        env = os.environ
        self.url = env.get("IDEATOR_SERVER_URL", "http://127.0.0.1:8787")
        self.token = env.get("IDEATOR_SERVER_TOKEN", "").strip()
        self.scheme = env.get("IDEATOR_REWARD_SCHEME", "paper")
        self.scores = env.get("IDEATOR_REWARD_SCORES", "improved")
        self.timeout = float(env.get("IDEATOR_REWARD_TIMEOUT", "3600"))
        self.retries = int(env.get("IDEATOR_REWARD_RETRIES", "6"))
        self.on_error = env.get("IDEATOR_REWARD_ON_ERROR", "zero")
        self.failure_score = float(env.get("IDEATOR_REWARD_FAILURE_SCORE", "0.0"))
        self.allow_printed_score = _truthy(env.get("IDEATOR_REWARD_ALLOW_PRINTED_SCORE", ""))
        self.baseline_seeds: Any = env.get("IDEATOR_REWARD_BASELINE_SEEDS", "").strip() or None
        self.wait_sec = 300.0
        for k, v in overrides.items():
            if v is not None and hasattr(self, k):
                setattr(self, k, _truthy(v) if k == "allow_printed_score" else v)
        self.url = str(self.url).rstrip("/")

    def seeds(self) -> Optional[int]:
        """k for the server, or None (the task's setting); a value that is not 1-16 is a configuration error."""
        if self.baseline_seeds is None:
            return None
        try:
            k = int(str(self.baseline_seeds).strip())
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_BASELINE_SEEDS:
            raise BridgeError(f"IDEATOR_REWARD_BASELINE_SEEDS / baseline_seeds must be a whole number 1-{MAX_BASELINE_SEEDS}, got {self.baseline_seeds!r}")
        return k


def _failure(cfg: _Config, n: int, message: str, started: float) -> Dict[str, Any]:
    if cfg.on_error == "raise":
        raise BridgeError(message)
    log.warning("ideator reward failed, returning %s: %s", cfg.failure_score, message)
    logs: Dict[str, List[float]] = {k: [0.0] * n for k in EXTRA_LOG_KEYS}
    logs["bridge_error"] = [1.0] * n
    logs["duration_s"] = [round(time.monotonic() - started, 3)] * n
    return {"rewards": [float(cfg.failure_score)] * n, "scores": [0.0] * n, "extra_logs": _per_sample(logs, n)}


def _per_sample(logs: Dict[str, Any], n: int) -> Dict[str, Any]:
    """A scalar per key for a one-sample call (OpenRLHF makes one tensor of each value), else the lists."""
    return {k: (float(logs[k][0]) if n == 1 else [float(v) for v in logs[k]]) for k in EXTRA_LOG_KEYS}


def _shape(reply: Dict[str, Any], n: int) -> Dict[str, Any]:
    """One-element lists for rewards and scores (as OpenRLHF's example returns them), a scalar per extra_logs key for
    a one-sample call (OpenRLHF makes one tensor of each value)."""
    rewards = [float(x) for x in reply.get("rewards", [])]
    scores = [float(x) for x in reply.get("scores", [])]
    logs = reply.get("extra_logs") or {}
    if len(rewards) != n or len(scores) != n or any(len(logs.get(k, [])) != n for k in EXTRA_LOG_KEYS):
        raise BridgeError(f"the server answered {len(rewards)} reward(s) for {n} sample(s), or without every extra_logs key")
    return {"rewards": rewards, "scores": scores, "extra_logs": _per_sample(logs, n)}


def _path(cfg: _Config, wait_sec: int) -> str:
    q = {"waitSec": str(wait_sec), "scheme": cfg.scheme, "scores": cfg.scores}
    if cfg.allow_printed_score:
        q["allowPrintedScore"] = "1"
    seeds = cfg.seeds()
    if seeds is not None:
        q["baselineSeeds"] = str(seeds)
    return "/get_reward?" + urllib.parse.urlencode(q)


def _post(cfg: _Config, path: str, body: bytes, timeout: float) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    headers = {"content-type": "application/json", "accept": "application/json"}
    if cfg.token:
        headers["authorization"] = f"Bearer {cfg.token}"
    req = urllib.request.Request(cfg.url + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read().decode("utf-8") or "{}"), dict(res.headers)
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", "replace")
        try:
            payload = json.loads(text)
        except ValueError:
            payload = {"error": {"code": "http_%d" % e.code, "message": text[:300]}}
        return e.code, payload, dict(e.headers or {})


def _backoff(attempt: int) -> float:
    return min(30.0, 0.5 * (2 ** attempt)) * (0.8 + 0.4 * random.random())


def _fetch(cfg: _Config, body: bytes, started: float) -> Dict[str, Any]:
    """POST /get_reward until the rewards are there or the time budget is spent."""
    deadline = started + float(cfg.timeout)
    attempt = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise BridgeError(f"no reward within {cfg.timeout:.0f}s (IDEATOR_REWARD_TIMEOUT)")
        wait_sec = int(max(1.0, min(float(cfg.wait_sec), left - ANSWER_MARGIN)))
        try:
            status, payload, headers = _post(cfg, _path(cfg, wait_sec), body, min(wait_sec + ANSWER_MARGIN, left))
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError) as e:
            status, payload, headers, reason = 0, {}, {}, f"cannot reach {cfg.url}: {e}"
        else:
            if status == 200:
                return payload
            err = payload.get("error") if isinstance(payload.get("error"), dict) else {}
            reason = f"HTTP {status} {err.get('code', '')}: {err.get('message', '')}".strip()
            if status == 503 and err.get("code") == "reward_pending":
                continue  # the server held the request waitSec: ask again, the same request joins the same job
            if status not in _RETRYABLE:
                raise BridgeError(reason)
        if attempt >= int(cfg.retries):
            raise BridgeError(reason)
        wait = _backoff(attempt)
        retry_after = headers.get("retry-after") or headers.get("Retry-After")
        if status == 429 and retry_after and retry_after.isdigit():
            wait = max(wait, float(retry_after))
        if time.monotonic() + wait > deadline:
            raise BridgeError(f"no reward within the call's time budget ({reason})")
        log.info("ideator reward: retry %d in %.1fs (%s)", attempt + 1, wait, reason)
        time.sleep(wait)
        attempt += 1


def reward_func(queries: List[str], prompts: List[str], labels: List[Any], **kwargs: Any) -> Dict[str, Any]:
    """OpenRLHF's reward function: one reward per query (see the module docstring)."""
    cfg = _Config({k: kwargs.get(k) for k in OVERRIDES})
    started = time.monotonic()
    queries, prompts, labels = list(queries or []), list(prompts or []), list(labels or [])
    n = len(queries)
    try:
        if n == 0 or len(prompts) != n or len(labels) != n:
            raise BridgeError(f"expected as many prompts and labels as queries, got {n} / {len(prompts)} / {len(labels)}")
        body = json.dumps({"query": [str(q) for q in queries], "prompts": [str(p) for p in prompts], "labels": ["" if x is None else str(x) for x in labels]}).encode("utf-8")
        return _shape(_fetch(cfg, body, started), n)
    except BridgeError as e:
        return _failure(cfg, max(n, 1), str(e), started)
    except Exception as e:  # never break the trainer by default
        return _failure(cfg, max(n, 1), f"{type(e).__name__}: {e}", started)


def _widen_default_executor() -> None:
    """IDEATOR_OPENRLHF_THREADS: a larger default thread pool for the event loop that is loading this file."""
    wanted = os.environ.get("IDEATOR_OPENRLHF_THREADS", "").strip()
    if not wanted:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        log.warning("IDEATOR_OPENRLHF_THREADS is set but this file is not being loaded inside an event loop: ignored")
        return
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(1, int(wanted)), thread_name_prefix="ideator-reward"))


_widen_default_executor()
