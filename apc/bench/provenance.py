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
    """Look up the installed version of each distribution (without importing it).

    Parameters
    ----------
    packages : tuple of str, default PACKAGES
        Distribution names.

    Returns
    -------
    dict[str, str]
        Name -> version, ``"not installed"`` when absent.
    """
    out = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: str | Path | None = None) -> dict[str, Any]:
    """Return the commit SHA of the git checkout holding ``path`` and its dirtiness.

    Parameters
    ----------
    path : str or Path, optional
        A folder inside the checkout (default: the apc package).

    Returns
    -------
    dict
        ``sha`` (``"unknown"`` without git or a checkout) and ``dirty`` (whether
        tracked files have uncommitted changes; None when unknown).
    """
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
    """Collect everything a reader needs to know where numbers came from.

    Parameters
    ----------
    executor : str, default "local"
        Name of the executor that ran the cells.

    Returns
    -------
    dict
        ``time`` (UTC, ISO 8601), ``python``, ``platform``, ``machine``, ``cpus``,
        ``executor``, ``packages`` (:func:`package_versions`), ``git``
        (:func:`git_commit`) and ``argv``.
    """
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
