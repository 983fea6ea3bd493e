"""Text to Python values: the ``key=value`` options of the CLI, suites and ``synth:`` specs.

One parser for every place where a user writes a parameter as text (``apc fit -p
n_neighbors=50``, ``apc data convert -o ...``, ``synth:small?n_playlists=500``), so the
same text means the same value everywhere. It sits below every package (it imports
only :mod:`apc.errors`), so adapters and models can both use it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from apc.errors import ApcInputError, read_text


def parse_value(text: str) -> Any:
    """Parse a ``--param`` value: Python/TOML literals (int, float, bool, list), else str.

    ``true``/``false`` (any case) are booleans and ``none``/``null`` is None; other
    text is tried as a Python literal, then as a comma-separated list (each part
    parsed the same way), and is otherwise returned unchanged.

    Parameters
    ----------
    text : str
        The text after ``key=``.

    Returns
    -------
    object
        The parsed value.

    Examples
    --------
    >>> parse_value("10"), parse_value("0.5"), parse_value("true"), parse_value("a,b")
    (10, 0.5, True, ['a', 'b'])
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if "," in text:
        return [parse_value(part) for part in text.split(",") if part.strip()]
    return text


def parse_params(pairs: list[str] | None, toml_file: str | Path | None = None) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` (and optionally a TOML file) into a parameter dict.

    Values from ``pairs`` override those of the file.

    Parameters
    ----------
    pairs : list of str or None
        ``key=value`` strings; each value is parsed by :func:`parse_value`.
    toml_file : str or Path, optional
        TOML file whose top-level table gives the parameters.

    Returns
    -------
    dict
        Parameter name -> value.

    Raises
    ------
    ApcInputError
        When the file is missing or malformed, or a pair has no ``=`` or no key.

    Examples
    --------
    >>> parse_params(["n_neighbors=50", "similarity=jaccard"])
    {'n_neighbors': 50, 'similarity': 'jaccard'}
    """
    params: dict[str, Any] = {}
    if toml_file is not None:
        path = Path(toml_file)
        if not path.exists():
            raise ApcInputError("no such parameter file", file=str(path))
        try:
            params.update(tomllib.loads(read_text(path, what="parameter file")))
        except tomllib.TOMLDecodeError as e:
            raise ApcInputError(f"malformed TOML ({e})", file=str(path)) from e
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ApcInputError(f"expected key=value, got {pair!r}", field="param")
        params[key.strip()] = parse_value(value)
    return params


__all__ = ["parse_params", "parse_value"]
