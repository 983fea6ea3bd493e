"""The suites and reproduction recipes shipped inside the package.

In the source tree the TOML files live in the content folders ``benchmarks/`` (the
quick suite and ``suites/*.toml``) and ``baselines/`` (recipes); this package links to
them, and the wheel carries them as package data in the same relative layout, so a
recipe's ``suite = "../benchmarks/..."`` resolves in both places. An installed apc
can therefore run ``apc bench run quick`` or ``apc reproduce synth-small-quick``
outside a checkout.

Examples
--------
>>> find("quick", "suite").name
'quick.toml'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from apc.errors import ApcInputError

Kind = Literal["suite", "recipe"]

_FOLDERS: dict[str, tuple[str, ...]] = {
    "suite": ("benchmarks", "benchmarks/suites"),
    "recipe": ("baselines",),
}


def root() -> Path:
    """Return the folder of the packaged resources (a real directory: apc installs unzipped).

    Returns
    -------
    Path
        The ``apc/resources`` folder.
    """
    return Path(str(files(__name__)))


def packaged(kind: Kind) -> dict[str, Path]:
    """List the packaged suites or recipes by name (file stem).

    Parameters
    ----------
    kind : {"suite", "recipe"}
        What to list.

    Returns
    -------
    dict of str to Path
        Name -> file, sorted by name.
    """
    found = {}
    for folder in _FOLDERS[kind]:
        d = root() / folder
        if d.is_dir():
            found.update({p.stem: p for p in d.glob("*.toml")})
    return dict(sorted(found.items()))


def find(name: str | Path, kind: Kind) -> Path:
    """Resolve a suite or recipe argument: an existing file, else a packaged one.

    Parameters
    ----------
    name : str or Path
        A path to a TOML file, or the name of a packaged one: its stem (``quick``), its
        file name, or its path in the source tree (``benchmarks/quick.toml``).
    kind : {"suite", "recipe"}
        What ``name`` names.

    Returns
    -------
    Path
        The file to read.

    Raises
    ------
    ApcInputError
        If ``name`` is neither a file nor a packaged name; the message lists those.
    """
    path = Path(name)
    if path.exists():
        return path
    known = packaged(kind)
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    if stem in known and (path.parent == Path(".") or path.as_posix() in {
        (Path(f) / f"{stem}.toml").as_posix() for f in _FOLDERS[kind]
    }):
        return known[stem]
    raise ApcInputError(
        f"no such {kind} file, and no packaged {kind} of that name; packaged: "
        f"{', '.join(known) or 'none'}",
        file=str(name),
    )


__all__ = ["find", "packaged", "root"]
