"""Provenance written beside every result: package versions, git commit, machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: Distributions whose versions every report states (looked up without importing them).
PACKAGES = (
    "apc-playlists",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "torch",
    "pytorch-lightning",
    "implicit",
    "gensim",
    "matplotlib",
    "ray",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution ("not installed" when absent)."""
    out = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: str | Path | None = None) -> dict[str, Any]:
    """Commit SHA of the git checkout holding ``path`` (default: the apc package) and dirtiness."""
    if path is None:
        import apc

        path = Path(apc.__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return {"sha": sha, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"sha": "unknown", "dirty": None}


def provenance(executor: str = "local") -> dict[str, Any]:
    """Everything a reader needs to know where numbers came from."""
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "executor": executor,
        "packages": package_versions(),
        "git": git_commit(),
        "argv": list(sys.argv),
    }
