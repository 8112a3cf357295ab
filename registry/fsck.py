"""Versions verify themselves: ids recomputed from file hashes, file hashes from the objects' bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry.errors import IntegrityError

if TYPE_CHECKING:
    from registry.objects import ObjectStore


def check_versions(con: Any, objects: ObjectStore) -> list[str]:
    """A problem for each version whose id is not the hash of its family and file hashes, or whose files'
    objects are missing, of another size, or no longer hash to the recorded sha256. Reads every object once."""
    from registry.store import version_id_for

    problems: list[str] = []
    files: dict[str, dict[str, tuple[str, int]]] = {}
    for vid, role, sha, size in con.execute("SELECT version_id, role, sha256, size FROM files").fetchall():
        files.setdefault(vid, {})[role] = (sha, int(size))
    checked: dict[str, str | None] = {}  # sha256 -> problem (objects are shared between versions)
    for family, number, vid in con.execute("SELECT family, number, version_id FROM versions "
                                           "ORDER BY family, number").fetchall():
        label = f"{family}@{number}"
        mine = files.get(vid, {})
        if not mine:
            problems.append(f"version {label} has no files")
            continue
        if version_id_for(family, {role: sha for role, (sha, _) in mine.items()}) != vid:
            problems.append(f"version {label}: its id {vid[:12]} is not the hash of its files (a file row was "
                            "repointed or edited)")
        for role, (sha, size) in sorted(mine.items()):
            if sha not in checked:
                checked[sha] = _object_problem(objects, sha, size)
            if checked[sha]:
                problems.append(f"version {label}, file {role}: {checked[sha]}")
    orphans = set(files) - {r[0] for r in con.execute("SELECT version_id FROM versions").fetchall()}
    problems += [f"file rows of an unknown version {vid[:12]}" for vid in sorted(orphans)]
    return problems


def _object_problem(objects: ObjectStore, sha: str, size: int) -> str | None:
    try:
        path = objects.verified(sha)
    except IntegrityError as exc:
        return str(exc)
    if path.stat().st_size != size:
        return f"object {sha[:12]} has {path.stat().st_size} bytes, the catalog says {size}"
    return None
