"""Long writes (a promotion's gate suite) as jobs: run on the server's own threads, polled by id, never
cancelled by a client that goes away."""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from registry.errors import RegistryError
from registry.web.cli_calls import error_body, http_status

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
KEEP = 1000  # finished jobs remembered for polling


@dataclass
class Job:
    """One submitted write: ``state`` goes from ``running`` to ``done``; ``status`` is its HTTP status."""

    job_id: str
    kind: str
    actor: str
    started_at: str
    state: str = "running"
    status: int | None = None
    exit_code: int | None = None
    result: Any = None
    finished_at: str | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "kind": self.kind, "actor": self.actor, "state": self.state,
                "status": self.status, "exit_code": self.exit_code, "result": self.result,
                "started_at": self.started_at, "finished_at": self.finished_at}


class Jobs:
    """The server's job table and the worker threads that run them (at most ``workers`` at a time)."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, actor: str, work: Callable[[], tuple[int, int, Any]]) -> Job:
        """Queue ``work`` (returning HTTP status, exit code, body), run as ``actor``; return its job at once."""
        from registry.store import ACTOR, now_utc

        job = Job(secrets.token_hex(16), kind, actor, now_utc(precise=True))

        def run() -> None:
            reset = ACTOR.set(actor)
            try:
                job.status, job.exit_code, job.result = work()
            except RegistryError as exc:
                job.status, job.exit_code, job.result = http_status(exc), int(exc.exit_code), error_body(exc)
            except Exception as exc:  # reported to whoever polls; the server keeps serving
                job.status, job.exit_code, job.result = 500, 3, error_body(exc)
            finally:
                ACTOR.reset(reset)
                job.finished_at, job.state = now_utc(precise=True), "done"
                job.finished.set()

        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > KEEP:
                oldest = next(iter(self._jobs.values()))
                if oldest.state != "done":
                    break
                self._jobs.popitem(last=False)
        self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job | None:
        if not _JOB_ID.match(job_id):
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        """Wait for running jobs to finish (a promotion is never abandoned half-way)."""
        self._pool.shutdown(wait=True)
