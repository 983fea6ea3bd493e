"""Strict checks of parsed TOML tables: known keys only, typed values, resolved paths.

Shared by the suite reader (:mod:`apc.bench.suite`); every failure is an
:class:`~apc.errors.ApcInputError` naming the file and the dotted key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from apc.errors import ApcInputError


def check_keys(table: Any, allowed: set[str], where: str, file: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ApcInputError(f"expected a table, got {type(table).__name__}", file=file, field=where)
    for key in table:
        if key not in allowed:
            raise ApcInputError(
                f"unknown key; allowed here: {', '.join(sorted(allowed))}",
                file=file,
                field=f"{where}.{key}" if where else key,
            )
    return table


def typed(value: Any, types: type | tuple[type, ...], where: str, file: str, what: str) -> Any:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ApcInputError(f"expected {what}, got a boolean", file=file, field=where)
    if not isinstance(value, types):
        raise ApcInputError(
            f"expected {what}, got {type(value).__name__} {value!r}", file=file, field=where
        )
    return value


def int_list(value: Any, where: str, file: str, *, positive: bool) -> list[int]:
    typed(value, list, where, file, "a list of integers")
    out = []
    for i, v in enumerate(value):
        typed(v, int, f"{where}[{i}]", file, "an integer")
        if positive and v < 1:
            raise ApcInputError(f"must be >= 1, got {v}", file=file, field=f"{where}[{i}]")
        out.append(int(v))
    if not out:
        raise ApcInputError("must not be empty", file=file, field=where)
    return out


def resolve_source(source: str, base: Path | None) -> str:
    """Expand variables; make relative paths absolute against the suite's folder."""
    if "APC_SHARED_DATA" in source and "APC_SHARED_DATA" not in os.environ:
        from apc.datasets import SHARED_DATA  # the default location of the real-data folder

        source = source.replace("${APC_SHARED_DATA}", str(SHARED_DATA))
        source = source.replace("$APC_SHARED_DATA", str(SHARED_DATA))
    expanded = os.path.expanduser(os.path.expandvars(source))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![\\/])", expanded):  # "synth:small", "mpd:..."
        return expanded
    path = Path(expanded)
    if not path.is_absolute() and base is not None:
        path = (base / path).resolve()
    return str(path)


def unique(labels: list[str], where: str, file: str) -> None:
    seen = set()
    for label in labels:
        if label in seen:
            raise ApcInputError(f"duplicate name {label!r}", file=file, field=where)
        seen.add(label)
