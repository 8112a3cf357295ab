"""Mutation testing (mutmut) of the modules that carry the registry's promises, each against its mirrored tests.

Run: ``.venv/bin/python bench/mutation.py [MODULE …] [--all] [--max-children 1] [--survivors] [--resume]
[--tests-at REV] [--changed [REV]]``.

Each module (``registry/store.py``) is mutated in a workspace of its own under ``.mutation/`` (git-ignored, copied
from the working tree, so nobody else's files are touched and a shared tree stays usable) and only its mirrored
test file (``tests/registry/test_store.py``), plus any files ``EXTRA_TESTS`` lists for it, is run against each
mutant; mutmut runs, per mutant, just the tests of those files which reached the mutated function. Without
MODULE it runs the default set (``DEFAULT``), with ``--all`` every module in scope (``registry/``, ``gates/``,
``cache/digest.py``, each family's gate modules: ``plugins/*/gates.py``, ``plugins/*/*_gates.py`` and those
``FAMILY_GATES`` names). ``--changed [REV]`` keeps only the modules whose source or test files differ from git
revision REV (default HEAD: the uncommitted ones), from the modules named or else the whole scope. ``--resume``
tries again, in the module's existing workspace and against today's files, only the mutants that survived or
were not run yet, and those of functions changed since (after adding tests for the survivors).

The score is killed / (mutants − equivalent): a mutant no test reached ("no tests") counts as survived. A mutant
that cannot change behaviour is listed in ``bench/mutation_equivalent.toml`` with its original and mutated line
and the reason (one kind is recognised by rule: a change of letter case in SQL text outside quoted literals);
surviving mutants are printed with their diffs so each is either killed by a new test or argued there. It
measures; it never fails (exit 0), except for a module name outside the scope or an unknown REV (exit 2).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / ".mutation"
EQUIVALENT_FILE = REPO / "bench" / "mutation_equivalent.toml"
COPIED = ("registry", "gates", "cache", "plugins", "tests", "pyproject.toml")
DEFAULT = ("cache/digest.py", "registry/gate_context.py", "registry/ledger.py", "registry/store.py",
           "registry/promotion.py", "registry/suite_run.py", "gates/base.py", "gates/metrics.py",
           "gates/baselines.py")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
# Test files run for a module besides its mirrored one: where its promises are tested elsewhere too.
EXTRA_TESTS: dict[str, tuple[str, ...]] = {
    "registry/promotion.py": ("tests/registry/test_policy.py", "tests/registry/test_gridded_runs.py",
                              "tests/registry/test_gate_context.py"),
    "plugins/tec/gates.py": ("tests/plugins/tec/test_gates_boundaries.py", "tests/plugins/tec/test_storm.py"),
    # the ensembles a run generated, pinned in its evidence (a gridded family, trained once per test there)
    "registry/suite_run.py": ("tests/registry/test_gridded_runs.py",),
}
# each family's gate modules: ionis/gates.py, ionis/release_gates.py, deepech/class_gates.py, ... and the modules
# whose gates a family's suites run although their names do not say so (the physics, storm and sampler checks)
FAMILY_GATES = ("plugins/*/gates.py", "plugins/*/*_gates.py", "plugins/ionis/physics.py", "plugins/tec/storm.py",
                "plugins/hrrr_ddpm/checks.py")


def in_scope() -> list[str]:
    """Every module mutation testing covers, as paths relative to the repository."""
    found = [*REPO.glob("registry/**/*.py"), *REPO.glob("gates/*.py"), REPO / "cache" / "digest.py",
             *(p for pattern in FAMILY_GATES for p in REPO.glob(pattern))]
    return sorted({str(p.relative_to(REPO)) for p in found if p.name != "__init__.py"})


def default_modules() -> list[str]:
    """The default run: the core's promise-carrying modules and every family's gate module."""
    return [*DEFAULT, *sorted({str(p.relative_to(REPO)) for pattern in FAMILY_GATES for p in REPO.glob(pattern)})]


def mirrored_test(module: str) -> Path:
    """``registry/store.py`` → ``tests/registry/test_store.py``."""
    path = Path(module)
    return Path("tests") / path.parent / f"test_{path.name}"


def selected_tests(module: str) -> list[str]:
    """The test files run against ``module``'s mutants: its mirrored file and any listed in ``EXTRA_TESTS``."""
    return [mirrored_test(module).as_posix(), *EXTRA_TESTS.get(module, ())]


def changed_files(rev: str) -> set[str] | None:
    """Files that differ from git revision ``rev`` (committed since, changed or new in the working tree), or
    ``None`` when ``rev`` is not a revision."""
    git = ["git", "-C", str(REPO)]
    if subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                      capture_output=True).returncode != 0:
        return None
    diff = subprocess.run([*git, "diff", "--name-only", rev, "--"], capture_output=True, text=True, check=True)
    new = subprocess.run([*git, "ls-files", "--others", "--exclude-standard"], capture_output=True, text=True,
                         check=True)
    return set(diff.stdout.split()) | set(new.stdout.split())


@dataclass
class Equivalent:
    module: str
    removed: str
    added: str
    reason: str


def load_equivalents() -> list[Equivalent]:
    if not EQUIVALENT_FILE.exists():
        return []
    data = tomllib.loads(EQUIVALENT_FILE.read_text())
    return [Equivalent(e["module"], e["removed"].strip(), e["added"].strip(), e["reason"])
            for e in data.get("equivalent", [])]


@dataclass
class ModuleScore:
    module: str
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    equivalent: dict[str, str] = field(default_factory=dict)  # mutant → reason
    seconds: float = 0.0
    note: str = ""

    @property
    def killed(self) -> int:
        return sum(s in KILLED for m, s in self.statuses.items() if m not in self.equivalent)

    @property
    def counted(self) -> int:
        return len(self.statuses) - len(self.equivalent)

    @property
    def score(self) -> float:
        return self.killed / self.counted if self.counted else float("nan")

    def survivors(self) -> list[str]:
        return [m for m, s in sorted(self.statuses.items()) if s not in KILLED and m not in self.equivalent]


def _prepare(module: str, test: Path, tests_at: str | None = None) -> Path:
    ws = _workspace(module)
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, ws / name, ignore=ignore)
        else:
            shutil.copy2(src, ws / name)
    if tests_at:  # the mirrored test file as it was at that commit (a "before" score against today's source)
        old = subprocess.run(["git", "show", f"{tests_at}:{test.as_posix()}"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        (ws / test).write_text(old)
    # created before mutmut starts: Python caches "no such folder" for a sys.path entry, and these are on PYTHONPATH
    (ws / "mutants" / "tests" / "support").mkdir(parents=True)
    _configure(ws, module)
    return ws


def _configure(ws: Path, module: str) -> None:
    """The workspace's pyproject.toml: the repository's, plus mutmut's settings for ``module``."""
    config = {
        "source_paths": ["registry", "gates", "cache", "plugins"],
        "only_mutate": [module],
        "pytest_add_cli_args_test_selection": selected_tests(module),
        "pytest_add_cli_args": ["-q", "-p", "no:cacheprovider"],
        "process_isolation": "forkserver",  # torch and the embedded ClickHouse engine are not fork-safe after use
        "use_git_change_detection": False,
        # mypy is part of every check of this project: a mutant it rejects is caught without running a test
        "type_check_command": [sys.executable, "-m", "mypy", "--output", "json", "--follow-imports=silent", module],
    }
    lines = ["", "[tool.mutmut]", *(f"{k} = {json.dumps(v)}" for k, v in config.items())]
    (ws / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text() + "\n".join(lines) + "\n")


def _environment(ws: Path) -> dict[str, str]:
    env = dict(os.environ)
    shared = REPO.parent / "shared" / "data"
    if "REGISTRY_SHARED_DATA" not in env and shared.is_dir():
        env["REGISTRY_SHARED_DATA"] = str(shared)  # tests resolve it from the repository, which moved
    env["REGISTRY_TEST_CKPTS"] = str(WORKSPACE / "ckpts")  # the toy checkpoints are trained once, not per mutant
    # child processes a test starts (the CLI under test) import the mutated copy, not the editable install
    env["PYTHONPATH"] = os.pathsep.join([str(ws / "mutants"), str(ws / "mutants" / "tests" / "support"),
                                         str(REPO / "bench")])
    # bench/mutation_order.py runs each mutant's tests fastest first (an environment variable, not mutmut's
    # pytest arguments: a change of those makes mutmut drop every result of a workspace)
    env["PYTEST_PLUGINS"] = "mutation_order"
    return env


# SQL text: a statement, or a fragment of one passed on (a WHERE clause such as "v.version_id = ?", an ORDER BY)
_SQL = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE|ORDER BY)\b|\? IS NULL\b|\b[a-z]\.[a-z_]+ = \?", re.I)
_QUOTED = re.compile(r"'[^']*'")
SQL_CASE = "only the letter case of SQL changed: keywords and unquoted names are case-insensitive (literals kept)"


def sql_case_only(removed: list[str], added: list[str]) -> bool:
    """True when a mutant only changes the case of SQL text outside its quoted literals (an equivalent mutant)."""
    return bool(removed) and len(removed) == len(added) and all(
        a != b and a.lower() == b.lower() and _SQL.search(a) is not None and _QUOTED.findall(a) == _QUOTED.findall(b)
        for a, b in zip(removed, added, strict=True))


def _collect(ws: Path, module: str, equivalents: list[Equivalent]) -> ModuleScore:
    """Read mutmut's results and each mutant's diff (mutmut reads its config from the working directory)."""
    script = (
        "import json, sys\n"
        "from mutmut.mutation.data import SourceFileMutationData\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "from mutmut.stats import status_by_exit_code\n"
        "m = SourceFileMutationData(path=sys.argv[1]); m.load()\n"
        "out = {k: [status_by_exit_code[v], get_diff_for_mutant(k, path=sys.argv[1])]\n"
        "       for k, v in m.exit_code_by_key.items()}\n"
        "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", script, module], cwd=ws, capture_output=True, text=True)
    result = ModuleScore(module)
    if done.returncode != 0:
        result.note = f"results unreadable: {done.stderr.strip().splitlines()[-1:]}"
        return result
    for name, (status, diff) in json.loads(done.stdout).items():
        result.statuses[name] = status
        result.diffs[name] = diff
        removed = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        added = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        for e in equivalents:
            if e.module == module and e.removed in removed and e.added in added:
                result.equivalent[name] = e.reason
        if sql_case_only(removed, added):
            result.equivalent[name] = SQL_CASE
    return result


def run_module(module: str, max_children: int, equivalents: list[Equivalent], verbose: bool,
               tests_at: str | None = None, resume: bool = False) -> ModuleScore:
    """Mutate ``module`` in its own workspace and run its mirrored tests against every mutant."""
    test = mirrored_test(module)
    if not (REPO / test).exists():
        return ModuleScore(module, note=f"no mirrored test file {test}")
    WORKSPACE.mkdir(exist_ok=True)
    with open(WORKSPACE / (module.replace("/", "__") + ".lock"), "w") as lock:  # held for the whole run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return ModuleScore(module, note="skipped: another run of this module is using its workspace")
        return _run_locked(module, test, max_children, equivalents, verbose, tests_at, resume)


def _workspace(module: str) -> Path:
    return WORKSPACE / module.replace("/", "__").removesuffix(".py")


def _resumable(ws: Path, module: str, equivalents: list[Equivalent]) -> bool:
    """Prepare a resumed run in an existing workspace: False when there is nothing to resume from.

    Every copied file is refreshed from the working tree, in the workspace and in mutmut's ``mutants/`` copy
    (whose mutated module is kept: mutmut makes it again itself when the module changed, and keeps the results
    of the functions that did not change). The survivors are marked not run, so that ``mutmut run`` tries them
    again together with any mutant not run yet.
    """
    mutated, meta = ws / "mutants" / module, ws / "mutants" / (module + ".meta")
    if not meta.exists() or not mutated.exists():
        return False
    again = set(_collect(ws, module, equivalents).survivors())
    kept, stamp = mutated.read_bytes(), mutated.stat()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in (n for n in COPIED if (REPO / n).is_dir()):
        for dest in (ws / name, ws / "mutants" / name):
            shutil.copytree(REPO / name, dest, ignore=ignore, dirs_exist_ok=True)
    _configure(ws, module)  # today's settings (test files): safe, as the test map below is measured again
    shutil.copy2(ws / "pyproject.toml", ws / "mutants" / "pyproject.toml")
    mutated.write_bytes(kept)
    os.utime(mutated, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # mutmut compares it with its source's time
    data = json.loads(meta.read_text())
    data["exit_code_by_key"] = {k: None if k in again else v for k, v in data["exit_code_by_key"].items()}
    meta.write_text(json.dumps(data))
    # which tests reach which function is measured again: mutmut re-measures only new tests, so a changed
    # test would keep the map of its old body (the results themselves are kept)
    (ws / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    return True


def _run_locked(module: str, test: Path, max_children: int, equivalents: list[Equivalent], verbose: bool,
                tests_at: str | None, resume: bool = False) -> ModuleScore:
    ws = _workspace(module)
    if not (resume and not tests_at and _resumable(ws, module, equivalents)):
        ws = _prepare(module, test, tests_at)
    t0 = time.perf_counter()
    log = ws / "mutmut-run.log"
    done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)],
                          cwd=ws, env=_environment(ws), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a") as f:
        f.write(done.stdout)
    if verbose:
        print(done.stdout[-3000:])
    result = _collect(ws, module, equivalents)
    result.seconds = time.perf_counter() - t0
    if done.returncode != 0 and not result.statuses:
        result.note = f"mutmut failed (exit {done.returncode}); see {ws / 'mutmut-run.log'}"
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="paths such as registry/store.py (default: the promise modules)")
    ap.add_argument("--all", action="store_true", help="every module in scope")
    ap.add_argument("--max-children", type=int, default=1, help="parallel mutant workers (default 1)")
    ap.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    ap.add_argument("--verbose", action="store_true", help="print the tail of mutmut's own output")
    ap.add_argument("--json", type=Path, help="also write the per-module figures to this file")
    ap.add_argument("--tests-at", metavar="REV", help="use each mirrored test file as of git revision REV")
    ap.add_argument("--changed", metavar="REV", nargs="?", const="HEAD",
                    help="only the modules in scope whose source or test files differ from git revision REV "
                         "(default HEAD: what is not committed yet); with --resume, the habit before a commit")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the module's workspace: refresh the copied files, run only the survivors, the "
                         "mutants not run yet and those of functions changed since")
    args = ap.parse_args(argv)
    scope = in_scope()
    modules = scope if args.all else [m.removeprefix("./") for m in args.modules] or default_modules()
    if args.changed:
        touched = changed_files(args.changed)
        if touched is None:
            print(f"--changed: {args.changed!r} is not a git revision of this repository", file=sys.stderr)
            return 2
        modules = [m for m in (modules if args.modules else scope) if m in touched
                   or any(t in touched for t in selected_tests(m))]
        if not modules:
            print(f"no module in scope or its tests differs from {args.changed}")
            return 0
    unknown = [m for m in modules if m not in scope]
    if unknown:
        print(f"not in the mutation scope: {', '.join(unknown)} (see --all for the list)", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    results = []
    t0 = time.perf_counter()
    for module in modules:
        r = run_module(module, args.max_children, equivalents, args.verbose, args.tests_at, args.resume)
        results.append(r)
        line = (f"{module:32s} {r.killed:4d}/{r.counted:<4d} killed  {100 * r.score:5.1f} %  "
                f"({len(r.equivalent)} equivalent, {r.seconds:.0f} s)") if r.statuses else f"{module:32s} {r.note}"
        print(line, flush=True)
        if args.survivors:
            for name in r.survivors():
                print(f"  -- {name} ({r.statuses[name]})\n" + "\n".join("     " + ln for ln in
                                                                         r.diffs[name].splitlines()[2:]))
    killed = sum(r.killed for r in results)
    counted = sum(r.counted for r in results)
    if counted:
        print(f"{'total':32s} {killed:4d}/{counted:<4d} killed  {100 * killed / counted:5.1f} %  "
              f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({r.module: {"killed": r.killed, "counted": r.counted,
                                                    "equivalent": len(r.equivalent), "seconds": round(r.seconds),
                                                    "survivors": r.survivors(), "note": r.note}
                                         for r in results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
