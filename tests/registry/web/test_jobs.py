"""Jobs: run as their actor, errors become the CLI's error object with an HTTP status, finished jobs are bounded."""

from __future__ import annotations

from typing import Any

import pytest

from registry.errors import AliasMoved, UnknownName
from registry.store import current_user
from registry.web import jobs as jobs_module
from registry.web.jobs import Jobs


def _done(jobs: Jobs, work: Any, actor: str = "bot") -> Any:
    job = jobs.submit("test", actor, work)
    assert job.finished.wait(30)
    return job


def test_a_job_runs_as_its_actor_and_reports_its_result() -> None:
    jobs = Jobs(workers=2)
    job = _done(jobs, lambda: (200, 0, {"who": current_user()}), actor="release-bot")
    assert job.to_dict()["result"] == {"who": "release-bot"} and (job.status, job.exit_code) == (200, 0)
    assert job.state == "done" and job.finished_at >= job.started_at
    assert current_user() != "release-bot"  # the actor does not leak out of the job
    assert jobs.get(job.job_id) is job
    jobs.shutdown()


@pytest.mark.parametrize(("error", "status", "code"), [(UnknownName("no version toy@9"), 404, 2),
                                                       (AliasMoved("moved"), 409, 1), (ValueError("boom"), 500, 3)])
def test_errors_become_status_and_the_cli_error_object(error: Exception, status: int, code: int) -> None:
    def fail() -> Any:
        raise error

    jobs = Jobs(workers=1)
    job = _done(jobs, fail)
    assert (job.status, job.exit_code) == (status, code)
    assert job.result == {"error": type(error).__name__, "message": str(error)}
    jobs.shutdown()


def test_ids_are_checked_and_old_finished_jobs_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_module, "KEEP", 2)
    jobs = Jobs(workers=1)
    done = [_done(jobs, lambda: (200, 0, {})) for _ in range(3)]
    jobs.submit("test", "bot", lambda: (200, 0, {}))
    assert jobs.get(done[0].job_id) is None and jobs.get(done[1].job_id) is None
    assert jobs.get(done[2].job_id) is done[2]
    assert jobs.get("../" + done[2].job_id[3:]) is None and jobs.get(done[2].job_id.upper()) is None
    jobs.shutdown()
