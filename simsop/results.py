"""Result files: a run directory with a manifest, KPI rows and summaries, every file written atomically."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO


def atomic_write_bytes(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write a file through ``write(fh)`` so that readers see the old content or the new, never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes owner-only files; results (and workshop folders) are meant to be shared.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file (UTF-8, line endings as given) atomically."""
    data = text.encode("utf-8")
    atomic_write_bytes(path, lambda fh: fh.write(data))


def _clean(x: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):  # numpy scalars
        return _clean(x.item())
    return x


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")


def rows_to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def atomic_write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    atomic_write_text(path, rows_to_csv(rows, columns))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("simsop", "simpy", "numpy", "scipy", "pandas", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def default_run_dir(scenario_name: str, root: str | Path = "results") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(root) / scenario_name / stamp
    k = 1
    while path.exists():
        path = Path(root) / scenario_name / f"{stamp}-{k}"
        k += 1
    return path


def manifest(scenario_file: str | Path | None, scenario_hash: str, seed: int, replications: int,
             extra: dict[str, Any] | None = None, command: Iterable[str] | None = None) -> dict[str, Any]:
    """What is needed to reproduce a run: inputs, seed, versions and the command line."""
    out: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_file_sha256": file_sha256(scenario_file) if scenario_file else None,
        "scenario_sha256": scenario_hash,
        "seed": seed,
        "replications": replications,
        "command": list(command) if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]],
        "versions": versions(),
    }
    if extra:
        out.update(extra)
    return out
