"""Dataset adapters: native formats in, :class:`~apc.data.Playlists` out.

Each adapter module reads one family of formats (``mpd``, ``aotm2011``, ``longformat``
with its ``8tracks`` and ``aotm-bigrams`` presets, ``synthetic``) and returns a
``Playlists``; :func:`load_corpus` accepts any of them by spec and :func:`convert`
writes the result as a saved corpus (parquet + manifest), so nothing downstream
parses raw files again.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.parsing import parse_value

#: Folder of the real datasets (``<repo>/../shared/data``); override with APC_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get(
        "APC_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)

#: Format name -> (module, reader function, fixed options).
FORMATS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "mpd": ("apc.datasets.mpd", "read_mpd", {}),
    "aotm2011": ("apc.datasets.aotm2011", "read_aotm2011", {}),
    "8tracks": ("apc.datasets.eighttracks", "read_8tracks", {}),
    "csv": ("apc.datasets.longformat", "read_longformat", {}),
    "longformat": ("apc.datasets.longformat", "read_longformat", {}),
    "parquet": ("apc.datasets.longformat", "read_longformat", {}),
    "aotm-bigrams": ("apc.datasets.longformat", "read_longformat", {"preset": "aotm-bigrams"}),
}


def read(path: str | Path, format: str, **options: Any) -> Playlists:
    """Read a native dataset with the adapter named ``format``.

    Parameters
    ----------
    path : path
        The native file or directory.
    format : str
        One of :data:`FORMATS`.
    **options
        Adapter options (see each adapter's docs).

    Returns
    -------
    Playlists
        The corpus.

    Raises
    ------
    ApcInputError
        If the format is unknown, ``path`` does not exist, an option is not accepted
        by the adapter, or the adapter rejects the input.
    """
    spec = FORMATS.get(str(format).lower())
    if spec is None:
        raise ApcInputError(f"unknown format {format!r}; known: {', '.join(FORMATS)}",
                            field="format")
    module, fn, fixed = spec
    reader = getattr(importlib.import_module(module), fn)
    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such file or directory", file=str(path))
    try:
        return reader(path, **{**fixed, **options})
    except TypeError as e:
        if "unexpected keyword" in str(e):
            raise ApcInputError(f"unknown option for format {format!r} ({e})",
                                field="option") from None
        raise


def parse_synth_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a ``synth:`` spec into a preset name and options.

    Parameters
    ----------
    spec : str
        ``synth:<preset>[?key=value&...]``; options may also be separated by commas.
        Values are parsed as numbers, booleans ... where possible.

    Returns
    -------
    preset : str
        The preset (``"small"`` when empty).
    options : dict
        The options, e.g. ``synth:small?seed=3&n_playlists=500`` gives
        ``("small", {"seed": 3, "n_playlists": 500})``.

    Raises
    ------
    ApcInputError
        If an option is not of the form ``key=value``.
    """
    body = spec.split(":", 1)[1]
    preset, _, query = body.partition("?")
    opts: dict[str, Any] = {}
    for part in filter(None, re.split(r"[&,]", query)):
        key, sep, value = part.partition("=")
        if not sep:
            raise ApcInputError(f"expected key=value in {spec!r}, got {part!r}", field="source")
        opts[key.strip()] = parse_value(value)
    return preset or "small", opts


def guess_format(path: Path) -> str:
    """Guess the adapter of a native path from its name and layout.

    Parameters
    ----------
    path : Path
        A native file, or a directory of ``mpd.slice.*.json`` files.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    ApcInputError
        If the format cannot be told from the name.
    """
    name = path.name.lower()
    if path.is_dir():
        if any(path.glob("mpd.slice.*.json")):
            return "mpd"
        raise ApcInputError("a directory that is neither a saved corpus (no manifest.json) nor "
                            "a folder of mpd.slice.*.json files", file=str(path))
    if name.startswith("mpd.slice.") and name.endswith(".json"):
        return "mpd"
    if "8tracks" in name or "eighttracks" in name:
        return "8tracks"
    if "aotm-bigrams" in name or "aotm_bigrams" in name:
        return "aotm-bigrams"
    if "aotm2011" in name or "aotm" in name and name.endswith((".json", ".json.gz")):
        return "aotm2011"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".parquet")):
        return "csv"
    raise ApcInputError("cannot tell the format of this file; convert it with "
                        "`apc data convert --format ...` first", file=str(path))


def load_corpus(spec: str | Path | Playlists, **options: Any) -> Playlists:
    """Load a corpus from a saved directory, a ``synth:`` spec or a native path.

    Parameters
    ----------
    spec : str, Path or Playlists
        A saved corpus directory (with ``manifest.json``), a
        ``synth:<preset>[?seed=N&...]`` spec (see :func:`parse_synth_spec`), a native
        dataset path (format guessed with :func:`guess_format`), or a
        :class:`Playlists`, returned as is.
    **options
        Generator overrides for a ``synth:`` spec, or adapter options for a native
        path; ignored for a saved corpus.

    Returns
    -------
    Playlists
        The corpus.

    Raises
    ------
    ApcInputError
        If ``spec`` names nothing that exists or cannot be read.

    Examples
    --------
    >>> pl = load_corpus("synth:tiny")  # doctest: +SKIP
    """
    if isinstance(spec, Playlists):
        return spec
    text = str(spec)
    if text.startswith("synth:") or text == "synth":
        from apc.datasets.synthetic import generate

        preset, opts = parse_synth_spec(text if ":" in text else "synth:small")
        seed = int(opts.pop("seed", 0))
        return generate(preset, seed=seed, **{**opts, **options})
    path = Path(text)
    if (path / "manifest.json").exists():
        return Playlists.load(path)
    if not path.exists():
        raise ApcInputError("no such corpus (expected a saved corpus directory, synth:<preset> "
                            "or a native dataset path)", file=text)
    return read(path, guess_format(path), **options)


def convert(input: str | Path, out: str | Path, format: str, *, overwrite: bool = False,
            **options: Any) -> Playlists:
    """Read a native dataset and save it as a corpus directory (atomically).

    Parameters
    ----------
    input : str or Path
        The native file or directory.
    out : str or Path
        Corpus directory to write; missing or empty, or see ``overwrite``.
    format : str
        One of :data:`FORMATS`.
    overwrite : bool, default False
        Replace an existing apc corpus at ``out``.
    **options
        Adapter options, as for :func:`read`.

    Returns
    -------
    Playlists
        The corpus that was written.

    Raises
    ------
    ApcInputError
        Before anything is read, when ``out`` is ``input``, lies inside it or holds
        it, or is a folder apc may not replace (see
        :func:`apc._atomic.check_out_dir`).
    """
    from apc._atomic import check_out_dir, check_separate

    check_separate(input, out)
    check_out_dir(out, "corpus", overwrite=overwrite)
    pl = read(input, format, **options)
    pl.save(out, overwrite=overwrite)
    return pl


__all__ = ["FORMATS", "convert", "guess_format", "load_corpus", "read"]
