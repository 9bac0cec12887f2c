"""Parent side of the metrics worker: start it, send requests, get plain numbers back.

Torch-free and TensorFlow-free, so it is safe in a process (or notebook kernel) that already
trained a model with TensorFlow.

Usage::

    from medganbench.metrics.client import worker_session, call_worker
    with worker_session():              # optional: one worker answers every call in the block
        call_worker("fidelity", arrays={"real": r, "fake": f}, args={...})

Without a session, calls share one default worker started on first use (about 2-4 s to import
torch) and stopped at exit or by :func:`close_default_worker`.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError, WeightsUnavailable

#: Seconds a single request may take before the worker is killed (Inception on CPU is slow: ~8 img/s).
DEFAULT_TIMEOUT_S = 3600.0


class WorkerError(MedGanBenchError):
    """The metrics worker failed; the message carries its error and the tail of its stderr."""


def _package_root() -> str:
    import medganbench

    return str(Path(medganbench.__file__).resolve().parents[1])


class WorkerClient:
    """One ``python -m medganbench.metrics.worker --serve`` subprocess and its pipes."""

    def __init__(self, *, python: str | None = None, echo_stderr: bool = True, env: dict | None = None):
        full_env = dict(os.environ)
        # The worker must import the same medganbench as the parent (a worktree beats an install).
        full_env["PYTHONPATH"] = _package_root() + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        if env:
            full_env.update(env)
        self._proc = subprocess.Popen(
            [python or sys.executable, "-m", "medganbench.metrics.worker", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, env=full_env,
        )
        self._lines: queue.Queue = queue.Queue()
        self._stderr_tail: collections.deque = collections.deque(maxlen=60)
        self._echo = echo_stderr
        self._next_id = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self._tmp = tempfile.TemporaryDirectory(prefix="medganbench-worker-")

    def _read_stdout(self):
        for line in self._proc.stdout:  # type: ignore[union-attr]
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self):
        for line in self._proc.stderr:  # type: ignore[union-attr]
            self._stderr_tail.append(line.rstrip("\n"))
            if self._echo and not _is_noise(line):
                sys.stderr.write(line)

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def tmpdir(self) -> Path:
        return Path(self._tmp.name)

    def stderr_tail(self, n: int = 20) -> str:
        return "\n".join(list(self._stderr_tail)[-n:])

    def request(self, op: str, args: dict, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
        """Send one request and wait for its answer. Raises :class:`WorkerError` / :class:`WeightsUnavailable`."""
        with self._lock:
            if not self.alive:
                raise WorkerError(f"the metrics worker has exited (code {self._proc.returncode}):\n"
                                  f"{self.stderr_tail()}")
            self._next_id += 1
            rid = self._next_id
            self._proc.stdin.write(json.dumps({"id": rid, "op": op, "args": args}) + "\n")  # type: ignore
            self._proc.stdin.flush()  # type: ignore[union-attr]
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self.close(kill=True)
                raise WorkerError(f"metrics worker op {op!r} took longer than {timeout:.0f} s and was stopped.") \
                    from None
            if line is None:
                self._proc.wait(timeout=10)
                raise WorkerError(
                    f"the metrics worker died during op {op!r} (exit code {self._proc.returncode}). "
                    f"Its last output:\n{self.stderr_tail()}"
                )
            response = json.loads(line)
        if response.get("ok"):
            return response["result"]
        kind, message = response.get("error_type"), response.get("message", "")
        if kind == "WeightsUnavailable":
            raise WeightsUnavailable(message)
        detail = response.get("traceback", "").strip().splitlines()[-6:]
        raise WorkerError(f"metrics worker op {op!r} failed: {kind}: {message}\n" + "\n".join(detail))

    def close(self, kill: bool = False) -> None:
        if self._proc.poll() is None:
            try:
                if kill:
                    self._proc.kill()
                else:
                    self._proc.stdin.close()  # type: ignore[union-attr]
                self._proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_noise(line: str) -> bool:
    # torch warns about the blocked triton import on some versions; nothing a user can act on.
    return "triton" in line.lower() and "warn" in line.lower()


_ACTIVE: list[WorkerClient] = []


@contextlib.contextmanager
def worker_session(**kwargs):
    """Keep one worker alive for every metric call inside the ``with`` block (saves ~3 s per call)."""
    client = WorkerClient(**kwargs)
    _ACTIVE.append(client)
    try:
        yield client
    finally:
        _ACTIVE.remove(client)
        client.close()


def call_worker(op: str, *, arrays: dict[str, np.ndarray | None] | None = None, args: dict | None = None,
                outputs: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
    """Run one worker op. ``arrays`` are saved as ``.npy`` and passed by path under the same names.

    ``outputs``: names of ``.npy`` files the op writes into the folder passed as ``args["out"]``;
    they are loaded and returned under ``result["arrays"][name]``.
    """
    client = _ACTIVE[-1] if _ACTIVE and _ACTIVE[-1].alive else _default_worker()
    with tempfile.TemporaryDirectory(dir=client.tmpdir) as tmp:
        payload = dict(args or {})
        for name, array in (arrays or {}).items():
            if array is None:
                payload[name] = None
                continue
            path = os.path.join(tmp, f"{name}.npy")
            np.save(path, np.asarray(array))
            payload[name] = path
        if outputs:
            payload["out"] = os.path.join(tmp, "out")
        result = client.request(op, payload, timeout=timeout)
        if outputs:
            result["arrays"] = {n: np.load(os.path.join(tmp, "out", f"{n}.npy")) for n in outputs}
        return result


_DEFAULT: list[WorkerClient] = []


def _default_worker() -> WorkerClient:
    """One worker kept alive for the rest of the process (notebooks call metrics cell after cell)."""
    if _DEFAULT and _DEFAULT[0].alive:
        return _DEFAULT[0]
    close_default_worker()  # a dead worker's temporary folder still needs removing
    _DEFAULT.append(WorkerClient())
    return _DEFAULT[0]


def prestart_worker() -> None:
    """Start the metrics worker now and return at once: it imports torch and torch-fidelity (seconds; about
    20 s at load average 8 on the 2-core project machine) while the caller does its own work, e.g. extracting
    features with TensorFlow, so the first :func:`call_worker` finds it ready. Nothing happens when a worker
    is already running (a :func:`worker_session` or an earlier call)."""
    if not (_ACTIVE and _ACTIVE[-1].alive):
        _default_worker()


def close_default_worker() -> None:
    """Stop the shared worker (frees its memory, e.g. GPU memory held by Inception-v3)."""
    while _DEFAULT:
        _DEFAULT.pop().close()


# Registered once at import: a process that never computes a metric pays nothing for it.
atexit.register(close_default_worker)
