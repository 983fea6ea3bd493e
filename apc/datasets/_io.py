"""Small I/O helpers shared by the dataset adapters.

* :func:`require_path` — a missing input is one :class:`~apc.errors.ApcInputError`.
* :func:`is_gzip` — gzip is recognised by its magic bytes, not only by a ``.gz`` name.
* :class:`TextSource` — open a (possibly gzipped) UTF-8 text file with a progress bar
  over the *compressed* bytes read, so a bar moves on a 100 MB file even when the
  number of records is unknown in advance.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

from apc.errors import ApcInputError

_GZIP_MAGIC = b"\x1f\x8b"


def require_path(path: str | Path, *, kind: str = "file") -> Path:
    """Return ``Path(path)``, checking that it exists and is of the right kind.

    Parameters
    ----------
    path : path
        The input to check.
    kind : {"file", "dir", "any"}
        What the input must be.

    Returns
    -------
    Path

    Raises
    ------
    ApcInputError
        If ``path`` does not exist or is not of the right kind.
    """
    path = Path(path)
    if not path.exists():
        what = {"file": "file", "dir": "directory"}.get(kind, "file or directory")
        raise ApcInputError(f"no such {what}", file=str(path))
    if kind == "file" and not path.is_file():
        raise ApcInputError("expected a file, found a directory", file=str(path))
    if kind == "dir" and not path.is_dir():
        raise ApcInputError("expected a directory, found a file", file=str(path))
    return path


def is_gzip(path: str | Path) -> bool:
    """Tell whether a file starts with the gzip magic bytes.

    Parameters
    ----------
    path : path
        The file to check.

    Returns
    -------
    bool
    """
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


class TextSource:
    """A UTF-8 text file (gzip recognised by content) with a byte-based progress bar.

    Use as a context manager; :attr:`text` is the text stream and :meth:`tick` moves
    the bar to the number of (compressed) bytes read so far.

    Parameters
    ----------
    path : path
        The file to read.
    description : str, optional
        Progress bar label; no bar when None or ``progress`` is False.
    progress : bool
        Show the bar (it is still hidden when stderr is not a terminal, see
        :mod:`apc.progress`).

    Examples
    --------
    >>> with TextSource("sessions.csv.gz", "reading") as src:  # doctest: +SKIP
    ...     for line in src.text:
    ...         src.tick()
    """

    def __init__(self, path: str | Path, description: str | None = None, *,
                 progress: bool = True) -> None:
        self.path = require_path(path)
        self.description = description if progress else None
        self.text: IO[str]
        self._raw = None
        self._task = None
        self._ctx = None

    @property
    def gzipped(self) -> bool:
        """Whether the file is gzip-compressed."""
        return is_gzip(self.path)

    def __enter__(self) -> TextSource:
        from apc.progress import task

        self._raw = open(self.path, "rb")
        binary = gzip.GzipFile(fileobj=self._raw) if self.gzipped else self._raw
        self.text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        if self.description is not None:
            self._ctx = task(self.description, total=self.path.stat().st_size)
            self._task = self._ctx.__enter__()
        return self

    def tick(self) -> None:
        """Move the progress bar to the bytes read so far."""
        if self._task is not None and self._raw is not None and not self._raw.closed:
            self._task.update(completed=self._raw.tell())

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._task is not None:
            if exc_type is None:
                self._task.update(completed=self.path.stat().st_size)
            self._ctx.__exit__(exc_type, exc, tb)
        self.text.close()
        if self._raw is not None:
            self._raw.close()


def decode_error(
    path: Path, e: UnicodeDecodeError | gzip.BadGzipFile | EOFError
) -> ApcInputError:
    """Return the :class:`~apc.errors.ApcInputError` for an undecodable or truncated file.

    Parameters
    ----------
    path : Path
        The file being read.
    e : UnicodeDecodeError, gzip.BadGzipFile or EOFError
        The error raised while decoding it.

    Returns
    -------
    ApcInputError
        The error to raise (the caller raises it).
    """
    if isinstance(e, UnicodeDecodeError):
        return ApcInputError(f"not UTF-8 text ({e.reason} at byte {e.start})", file=str(path))
    return ApcInputError(f"corrupt or truncated gzip data ({e})", file=str(path))
