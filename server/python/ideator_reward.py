"""VeRL reward function for training an Ideator with execution-based rewards (MLE-Ideator, paper section 3.2).

Standard library only: copy this one file next to your VeRL config. Each rollout (one Ideator answer) is sent to
an `ideator serve` reward server together with the state it answers; the server implements the idea, runs it in
its sandbox, grades it and returns the paper's reward (+1 improved / 0 not improved or failed / -1 format error).

Entry points (see docs/verl.md for the config keys):
  compute_score(data_source=, solution_str=, ground_truth=, extra_info=, **kwargs) -> dict   (sync; any version)
  compute_score_async(...same...) -> dict                                                  (async; newest VeRL)
  compute_score_batch(data_sources=, solution_strs=, ground_truths=, extra_infos=, **kw) -> list  (legacy 'batch')

Where the state comes from (first found): extra_info["state"] (dict or JSON text), extra_info["state_json"],
ground_truth (dict or JSON text of the state), extra_info["state_path"] (a JSON file). extra_info["task"]
optionally names the server task (default: the state's taskId).

Printed scores are opt-in. A state no server task grades (no task, or a taskId the server does not have) can only
be scored from the metric the run PRINTS, which the idea's code can forge; the server refuses it (HTTP 400
no_grader, a bridge error) unless allowed: IDEATOR_REWARD_ALLOW_PRINTED_SCORE=1, the keyword
allow_printed_score=True, or extra_info["allow_printed_score"] = True for one sample. Such rewards come back with
self_reported = 1.

Every call returns the same keys (VeRL stacks them per key and takes the key set from the first sample): "score",
the numeric flags improved / not_improved / exec_failed / timeout / format_error / bridge_error, duration_s,
self_reported, and the reward-hacking guard: guard_flagged plus one 0/1 key per flag (guard_touches_evaluation,
guard_prints_metric, guard_submission_path, guard_reads_outside_data), and the collapse monitor's figures of the
sample's group (the job: answers to one state sent together): group_distinct, group_type_entropy (bits),
group_near_duplicate_rate, group_zero_variance (1 = every reward of the group equal: no GRPO signal); 0 when the
server sends none. The guard never changes "score". It never raises by default: a failure gives score
IDEATOR_REWARD_FAILURE_SCORE (0.0) with bridge_error = 1 and a log line.

Environment:
  IDEATOR_SERVER_URL        server root (default http://127.0.0.1:8787)
  IDEATOR_SERVER_TOKEN      bearer token (required when the server is bound beyond loopback)
  IDEATOR_REWARD_SCHEME     paper | partial | sigmoid (default paper)
  IDEATOR_REWARD_TIMEOUT    seconds one call may take in total, waits and retries included (default 3600); every
                            socket wait is cut at the time left, whatever the server does
  IDEATOR_REWARD_RETRIES    retries on connection errors / 5xx (default 6, exponential backoff)
  IDEATOR_REWARD_CONCURRENCY  requests in flight per process (default 64)
  IDEATOR_REWARD_ON_ERROR   zero (default: log and return the failure score) | raise
  IDEATOR_REWARD_FAILURE_SCORE  score returned on a bridge failure (default 0.0)
  IDEATOR_REWARD_RETURN     dict (default) | float
  IDEATOR_REWARD_BASELINE_SEEDS  k: measure p_t over k seeded runs of C_t (noise-aware reward, docs/verl.md;
                            default: the task's setting, else 1); results carry baseline_seeds, baseline_noise
                            (std of the k scores) and baseline_threshold (0 when p_t was not measured)
  IDEATOR_REWARD_ALLOW_PRINTED_SCORE  1 / true: states without a server task are scored from printed metrics
                            (self-reported, forgeable; default off: such samples are bridge errors)
Retried requests are safe: the server keys each request by its content, so a retry joins the same job.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger("ideator_reward")

STATUSES = ("improved", "not_improved", "exec_failed", "timeout", "format_error")
# The reward-hacking guard's flags (src/core/protocol.ts GuardFlagSchema), one 0/1 key each: "guard_" + name.
GUARD_FLAGS = ("touches_evaluation", "prints_metric", "submission_path", "reads_outside_data")
GUARD_KEYS = ("guard_flagged",) + tuple("guard_" + f for f in GUARD_FLAGS)
# The collapse monitor's figures of the sample's group (the job's `diversity`; 0 when absent): distinct ideas,
# idea-type entropy in bits, near-duplicate share, and 1 when every reward of the group is equal (no GRPO signal).
GROUP_KEYS = ("group_distinct", "group_type_entropy", "group_near_duplicate_rate", "group_zero_variance")
# The noise-aware reward's measurement of p_t (the result's `baseline`; 0 when absent): k seeded runs of C_t, the
# sample std of their scores and the margin an idea had to beat p_t by.
BASELINE_KEYS = ("baseline_seeds", "baseline_noise", "baseline_threshold")
RESULT_KEYS = ("score",) + STATUSES + ("bridge_error", "duration_s", "self_reported") + GUARD_KEYS + GROUP_KEYS + BASELINE_KEYS
OVERRIDES = ("url", "token", "scheme", "timeout", "retries", "on_error", "failure_score", "return_kind", "allow_printed_score", "baseline_seeds")


class BridgeError(RuntimeError):
    """The reward could not be obtained from the server (after retries)."""


class _Config:
    def __init__(self) -> None:
        env = os.environ
        self.url = env.get("IDEATOR_SERVER_URL", "http://127.0.0.1:8787").rstrip("/")
        self.token = env.get("IDEATOR_SERVER_TOKEN", "").strip()
        self.scheme = env.get("IDEATOR_REWARD_SCHEME", "paper")
        self.timeout = float(env.get("IDEATOR_REWARD_TIMEOUT", "3600"))
        self.retries = int(env.get("IDEATOR_REWARD_RETRIES", "6"))
        self.concurrency = max(1, int(env.get("IDEATOR_REWARD_CONCURRENCY", "64")))
        self.on_error = env.get("IDEATOR_REWARD_ON_ERROR", "zero")
        self.failure_score = float(env.get("IDEATOR_REWARD_FAILURE_SCORE", "0.0"))
        self.return_kind = env.get("IDEATOR_REWARD_RETURN", "dict")
        self.allow_printed_score = _truthy(env.get("IDEATOR_REWARD_ALLOW_PRINTED_SCORE", ""))
        seeds = env.get("IDEATOR_REWARD_BASELINE_SEEDS", "").strip()
        self.baseline_seeds: Any = seeds or None  # checked per call (_seeds): a bad value is a bridge error, not a raise


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _config(overrides: Dict[str, Any]) -> _Config:
    c = _Config()
    for k, v in overrides.items():
        if hasattr(c, k) and v is not None:
            setattr(c, k, _truthy(v) if k == "allow_printed_score" else v)
    return c


# ----------------------------------------------------------------------------------------------------------------
# Request building
# ----------------------------------------------------------------------------------------------------------------


def _as_obj(value: Any) -> Optional[dict]:
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)) and value.strip()[:1] in ("{", b"{"):
        try:
            obj = json.loads(value)
            return obj if isinstance(obj, dict) else None
        except ValueError:
            return None
    return None


def _looks_like_state(obj: Optional[dict]) -> bool:
    return bool(obj) and "code" in obj and "score" in obj


def find_state(ground_truth: Any, extra_info: Any) -> Tuple[dict, Optional[str]]:
    """The IdeatorState this answer responds to, and the server task (or None)."""
    extra = extra_info if isinstance(extra_info, dict) else (_as_obj(extra_info) or {})
    task = extra.get("task") if isinstance(extra.get("task"), str) else None
    for candidate in (extra.get("state"), extra.get("state_json"), extra.get("ideator_state"), ground_truth):
        obj = _as_obj(candidate)
        if _looks_like_state(obj):
            return obj, task
    path = extra.get("state_path")
    if isinstance(path, str) and path:
        with open(path, "r", encoding="utf-8") as f:
            obj = json.load(f)
        if _looks_like_state(obj):
            return obj, task
    raise BridgeError("no Ideator state found: put it in extra_info['state'] or reward_model.ground_truth (JSON)")


def allows_printed_score(extra_info: Any, cfg: _Config) -> bool:
    """extra_info["allow_printed_score"] when the sample sets it, else the bridge's setting (default off)."""
    extra = extra_info if isinstance(extra_info, dict) else (_as_obj(extra_info) or {})
    value = extra.get("allow_printed_score")
    return cfg.allow_printed_score if value is None else _truthy(value)


MAX_BASELINE_SEEDS = 16  # src/core/protocol.ts MAX_BASELINE_SEEDS


def _seeds(value: Any) -> Optional[int]:
    """k for the request (None: the task's setting); anything but a whole number 1-16 is a BridgeError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        k = int(str(value).strip())
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_BASELINE_SEEDS or isinstance(value, bool):
        raise BridgeError(f"IDEATOR_REWARD_BASELINE_SEEDS / baseline_seeds must be a whole number 1-{MAX_BASELINE_SEEDS}, got {value!r}")
    return k


def _body(state: dict, ideas: List[str], task: Optional[str], cfg: _Config, allow_printed: bool = False) -> dict:
    body: Dict[str, Any] = {"state": state, "ideas": ideas, "scheme": cfg.scheme, "allowPrintedScore": bool(allow_printed)}
    if task:
        body["task"] = task
    seeds = _seeds(cfg.baseline_seeds)
    if seeds is not None:
        body["baselineSeeds"] = seeds
    return body


def _group_figures(out: Dict[str, float], diversity: Any) -> None:
    """Copies a job's `diversity` into the group_* keys (they stay 0 when the server sent none)."""
    if not isinstance(diversity, dict):
        return
    for key, field in (("group_distinct", "distinct"), ("group_type_entropy", "typeEntropy"), ("group_near_duplicate_rate", "nearDuplicateRate")):
        value = diversity.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    out["group_zero_variance"] = 1.0 if diversity.get("zeroVariance") is True else 0.0


def _result_dict(result: Optional[dict], cfg: _Config, error: Optional[str] = None, duration: float = 0.0, diversity: Any = None) -> Dict[str, float]:
    out = {k: 0.0 for k in RESULT_KEYS}
    if result is None:
        out["score"] = cfg.failure_score
        out["bridge_error"] = 1.0
    else:
        out["score"] = float(result.get("reward", cfg.failure_score))
        status = result.get("status")
        if status in STATUSES:
            out[status] = 1.0
        out["self_reported"] = 1.0 if result.get("selfReported") else 0.0
        flags = result.get("guardFlags") or []
        out["guard_flagged"] = 1.0 if flags else 0.0
        for flag in flags:
            # An unknown (newer server) flag still counts in guard_flagged; it gets no key of its own, so every
            # result keeps the same keys.
            if flag in GUARD_FLAGS:
                out["guard_" + flag] = 1.0
        _group_figures(out, diversity)
        baseline = result.get("baseline")
        if isinstance(baseline, dict):
            for key, field in (("baseline_seeds", "k"), ("baseline_noise", "std"), ("baseline_threshold", "threshold")):
                value = baseline.get(field)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[key] = float(value)
    out["duration_s"] = float(duration)
    return out


def _fail(cfg: _Config, message: str, started: float) -> Dict[str, float]:
    if cfg.on_error == "raise":
        raise BridgeError(message)
    log.warning("ideator reward failed, returning %s: %s", cfg.failure_score, message)
    return _result_dict(None, cfg, message, time.monotonic() - started)


def _shape(value: Dict[str, float], cfg: _Config) -> Any:
    return value["score"] if cfg.return_kind == "float" else value


# ----------------------------------------------------------------------------------------------------------------
# Sync HTTP (urllib)
# ----------------------------------------------------------------------------------------------------------------

_RETRYABLE_STATUS = {500, 502, 503, 504, 429}


class _HttpStatus(Exception):
    def __init__(self, status: int, body: str, retry_after: Optional[float] = None) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        # Seconds the server asked for (429 queue_full, 503): honoured instead of our own back-off.
        self.retry_after = retry_after


def _parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After in seconds (the server sends delta-seconds); an HTTP date or garbage means "not given"."""
    try:
        return min(600.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _retry_wait(error: Exception, attempt: int) -> Tuple[float, bool]:
    """How long to wait before the next try, and whether that try counts against `retries`: a server that says
    when to come back (back-pressure) is waited for, bounded only by the call's time budget."""
    if isinstance(error, _HttpStatus) and error.retry_after is not None:
        return error.retry_after * (1.0 + 0.2 * random.random()), False
    return _backoff(attempt), True


def _backoff(attempt: int) -> float:
    return min(30.0, 0.5 * (2 ** attempt)) * (0.8 + 0.4 * random.random())


def _headers(cfg: _Config) -> Dict[str, str]:
    h = {"content-type": "application/json", "accept": "application/json"}
    if cfg.token:
        h["authorization"] = f"Bearer {cfg.token}"
    return h


def _http_json(cfg: _Config, method: str, path: str, body: Optional[dict], timeout: float) -> Tuple[int, dict]:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(cfg.url + path, data=data, method=method, headers=_headers(cfg))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", "replace")
        raise _HttpStatus(e.code, text, _parse_retry_after(e.headers.get("retry-after") if e.headers else None)) from None


def _retrying(cfg: _Config, deadline: float, call):
    attempt = 0
    while True:
        try:
            return call()
        except _HttpStatus as e:
            wait, counts = _retry_wait(e, attempt)
            if e.status not in _RETRYABLE_STATUS or (counts and attempt >= cfg.retries):
                raise BridgeError(str(e)) from None
            reason = str(e)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            if attempt >= cfg.retries:
                raise BridgeError(f"cannot reach {cfg.url}: {e}") from None
            reason = str(e)
            wait, counts = _backoff(attempt), True
        if time.monotonic() + wait > deadline:
            raise BridgeError(f"no reward within the call's time budget ({reason})")
        log.info("ideator reward: retry %d in %.1fs (%s)", attempt + 1, wait, reason)
        time.sleep(wait)
        if counts:
            attempt += 1


def _wait_path(job_id: str, seconds: float) -> str:
    return f"/v1/jobs/{urllib.parse.quote(job_id)}?wait=1&waitSec={max(1, int(seconds))}"


# A long-poll asks the server to hold the request up to waitSec and then answer (202 while the job still runs). The
# socket waits at most ANSWER_MARGIN seconds longer than that for the answer, and never past the call's deadline:
# a server that accepts connections and never answers costs the remaining budget, not the poll time plus a margin.
ANSWER_MARGIN = 5.0
MAX_POLL = 300.0


def poll_times(deadline: float) -> Tuple[int, float]:
    """(waitSec for the server, socket timeout) of the next request, both within the time left before `deadline`."""
    left = deadline - time.monotonic()
    if left <= 0.05:
        raise BridgeError("the reward call ran out of time (IDEATOR_REWARD_TIMEOUT / timeout=)")
    wait_sec = int(max(1.0, min(MAX_POLL, left - ANSWER_MARGIN)))
    return wait_sec, min(wait_sec + ANSWER_MARGIN, left)


def _run_job_sync(cfg: _Config, body: dict, started: float) -> dict:
    """Submits a job and long-polls it to completion; returns the finished job."""
    deadline = started + cfg.timeout

    def submit() -> Tuple[int, dict]:
        wait_sec, socket_timeout = poll_times(deadline)
        return _http_json(cfg, "POST", "/v1/rewards?wait=1&waitSec=%d" % wait_sec, body, socket_timeout)

    def poll(job_id: str) -> Tuple[int, dict]:
        wait_sec, socket_timeout = poll_times(deadline)
        return _http_json(cfg, "GET", _wait_path(job_id, wait_sec), None, socket_timeout)

    status, job = _retrying(cfg, deadline, submit)
    while job.get("status") not in ("done", "failed"):
        if time.monotonic() >= deadline:
            raise BridgeError(f"job {job.get('id')} not done after {cfg.timeout:.0f}s")
        job_id = job["id"]
        status, job = _retrying(cfg, deadline, lambda: poll(job_id))
    if job.get("status") == "failed":
        raise BridgeError(f"job {job.get('id')} failed: {job.get('error')}")
    return job


_sync_slots: Dict[int, threading.BoundedSemaphore] = {}
_sync_lock = threading.Lock()


def _slot(cfg: _Config) -> threading.BoundedSemaphore:
    with _sync_lock:
        sem = _sync_slots.get(cfg.concurrency)
        if sem is None:
            sem = _sync_slots[cfg.concurrency] = threading.BoundedSemaphore(cfg.concurrency)
        return sem


def compute_score(data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any) -> Any:
    """Reward of one Ideator answer. Accepts VeRL's keyword call (and positional calls of older managers).

    Extra keyword arguments VeRL passes (reward_router_address, reward_model_tokenizer, num_turns, ...) are
    ignored, except bridge overrides: url, token, scheme, timeout, retries, on_error, failure_score, return_kind,
    allow_printed_score.
    """
    cfg = _config({k: kwargs.get(k) for k in OVERRIDES})
    started = time.monotonic()
    try:
        state, task = find_state(ground_truth, extra_info)
        text = solution_str if isinstance(solution_str, str) else ("" if solution_str is None else str(solution_str))
        with _slot(cfg):
            job = _run_job_sync(cfg, _body(state, [text], task, cfg, allows_printed_score(extra_info, cfg)), started)
        return _shape(_result_dict(job["results"][0], cfg, duration=time.monotonic() - started, diversity=job.get("diversity")), cfg)
    except BridgeError as e:
        return _shape(_fail(cfg, str(e), started), cfg)
    except Exception as e:  # never break the trainer by default
        return _shape(_fail(cfg, f"{type(e).__name__}: {e}", started), cfg)


def compute_score_batch(data_sources: Any = None, solution_strs: Any = None, ground_truths: Any = None, extra_infos: Any = None, **kwargs: Any) -> List[Any]:
    """Legacy 'batch' reward manager: lists in, a list out. Answers to the same state go to the server as one
    group (one job of G ideas), groups run concurrently."""
    cfg = _config({k: kwargs.get(k) for k in OVERRIDES})
    sols = list(solution_strs or [])
    gts = list(ground_truths) if ground_truths is not None else [None] * len(sols)
    extras = list(extra_infos) if extra_infos is not None else [None] * len(sols)
    out: List[Any] = [None] * len(sols)
    groups: Dict[str, List[int]] = {}
    found: Dict[int, Tuple[dict, Optional[str], bool]] = {}
    started = time.monotonic()
    for i, s in enumerate(sols):
        try:
            extra = extras[i] if i < len(extras) else None
            state, task = find_state(gts[i] if i < len(gts) else None, extra)
            found[i] = (state, task, allows_printed_score(extra, cfg))
        except Exception as e:
            out[i] = _shape(_fail(cfg, str(e), started), cfg)
            continue
        key = json.dumps(list(found[i]), sort_keys=True)
        groups.setdefault(key, []).append(i)

    def run(indices: List[int]) -> None:
        state, task, allow_printed = found[indices[0]]
        t0 = time.monotonic()
        try:
            with _slot(cfg):
                job = _run_job_sync(cfg, _body(state, [str(sols[i] or "") for i in indices], task, cfg, allow_printed), t0)
            for r in job["results"]:
                out[indices[r["index"]]] = _shape(_result_dict(r, cfg, duration=time.monotonic() - t0, diversity=job.get("diversity")), cfg)
        except Exception as e:
            for i in indices:
                out[i] = _shape(_fail(cfg, str(e), t0), cfg)

    with ThreadPoolExecutor(max_workers=max(1, min(cfg.concurrency, len(groups) or 1))) as ex:
        list(ex.map(run, groups.values()))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Async HTTP (asyncio streams): hundreds of rollouts can wait for their runs without a thread each
# ----------------------------------------------------------------------------------------------------------------


async def _ahttp_json(cfg: _Config, method: str, path: str, body: Optional[dict], timeout: float) -> Tuple[int, dict]:
    u = urllib.parse.urlsplit(cfg.url + path)
    port = u.port or (443 if u.scheme == "https" else 80)
    ctx = ssl.create_default_context() if u.scheme == "https" else None
    data = json.dumps(body).encode("utf-8") if body is not None else b""
    target = u.path + (f"?{u.query}" if u.query else "")
    headers = _headers(cfg)
    lines = [f"{method} {target} HTTP/1.1", f"host: {u.hostname}:{port}", "connection: close", f"content-length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]

    async def exchange() -> Tuple[int, dict]:
        reader, writer = await asyncio.open_connection(u.hostname, port, ssl=ctx)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split()[1])
            hdrs = {}
            for h in header_lines:
                if ":" in h:
                    k, v = h.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            if "chunked" in hdrs.get("transfer-encoding", ""):
                chunks = []
                while True:
                    size = int((await reader.readline()).strip() or b"0", 16)
                    if size == 0:
                        break
                    chunks.append(await reader.readexactly(size))
                    await reader.readline()
                raw = b"".join(chunks)
            elif "content-length" in hdrs:
                raw = await reader.readexactly(int(hdrs["content-length"]))
            else:
                raw = await reader.read()
        finally:
            writer.close()
        text = raw.decode("utf-8", "replace")
        if status >= 400:
            raise _HttpStatus(status, text, _parse_retry_after(hdrs.get("retry-after")))
        return status, json.loads(text or "{}")

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"no answer in {timeout:.0f}s") from None
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        raise ConnectionError(f"broken response: {e}") from None


async def _aretrying(cfg: _Config, deadline: float, call):
    attempt = 0
    while True:
        try:
            return await call()
        except _HttpStatus as e:
            wait, counts = _retry_wait(e, attempt)
            if e.status not in _RETRYABLE_STATUS or (counts and attempt >= cfg.retries):
                raise BridgeError(str(e)) from None
            reason = str(e)
        except (ConnectionError, TimeoutError, OSError) as e:
            if attempt >= cfg.retries:
                raise BridgeError(f"cannot reach {cfg.url}: {e}") from None
            reason = str(e)
            wait, counts = _backoff(attempt), True
        if time.monotonic() + wait > deadline:
            raise BridgeError(f"no reward within the call's time budget ({reason})")
        await asyncio.sleep(wait)
        if counts:
            attempt += 1


_async_slots: Dict[Tuple[int, int], asyncio.Semaphore] = {}


def _aslot(cfg: _Config) -> asyncio.Semaphore:
    key = (id(asyncio.get_running_loop()), cfg.concurrency)
    sem = _async_slots.get(key)
    if sem is None:
        sem = _async_slots[key] = asyncio.Semaphore(cfg.concurrency)
    return sem


async def compute_score_async(data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any) -> Any:
    """compute_score as a coroutine (VeRL awaits `async def` reward functions directly)."""
    cfg = _config({k: kwargs.get(k) for k in OVERRIDES})
    started = time.monotonic()
    deadline = started + cfg.timeout

    async def submit(body: dict) -> Tuple[int, dict]:
        wait_sec, socket_timeout = poll_times(deadline)
        return await _ahttp_json(cfg, "POST", "/v1/rewards?wait=1&waitSec=%d" % wait_sec, body, socket_timeout)

    async def poll(job_id: str) -> Tuple[int, dict]:
        wait_sec, socket_timeout = poll_times(deadline)
        return await _ahttp_json(cfg, "GET", _wait_path(job_id, wait_sec), None, socket_timeout)

    try:
        state, task = find_state(ground_truth, extra_info)
        text = solution_str if isinstance(solution_str, str) else ("" if solution_str is None else str(solution_str))
        body = _body(state, [text], task, cfg, allows_printed_score(extra_info, cfg))
        async with _aslot(cfg):
            _, job = await _aretrying(cfg, deadline, lambda: submit(body))
            while job.get("status") not in ("done", "failed"):
                if time.monotonic() >= deadline:
                    raise BridgeError(f"job {job.get('id')} not done after {cfg.timeout:.0f}s")
                job_id = job["id"]
                _, job = await _aretrying(cfg, deadline, lambda: poll(job_id))
        if job.get("status") == "failed":
            raise BridgeError(f"job {job.get('id')} failed: {job.get('error')}")
        return _shape(_result_dict(job["results"][0], cfg, duration=time.monotonic() - started, diversity=job.get("diversity")), cfg)
    except BridgeError as e:
        return _shape(_fail(cfg, str(e), started), cfg)
    except Exception as e:
        return _shape(_fail(cfg, f"{type(e).__name__}: {e}", started), cfg)
