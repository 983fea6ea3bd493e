"""Exceptions and warning classes shared by the whole package.

``ApcInputError`` is the one error type for bad user input (missing file, malformed
record, unknown option). It carries the file, record and field so that the CLI can
print a single clear line and exit with status 2.
"""

from __future__ import annotations

from pathlib import Path


class ApcInputError(ValueError):
    """Bad input: a missing file, a malformed record, an unknown option.

    Parameters
    ----------
    message : str
        What was wrong and what was expected.
    file : str, optional
        The file (or directory) being read.
    record : str or int, optional
        The record inside the file (a playlist id, a line number, a JSON path).
    field : str, optional
        The field of that record.

    Examples
    --------
    >>> str(ApcInputError("expected a list", file="a.json", record="pid 3", field="tracks"))
    "a.json: record pid 3: field 'tracks': expected a list"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.record = record
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        parts.append(self.message)
        return ": ".join(parts)


def read_text(path: str | Path, *, what: str = "file") -> str:
    """Read a user's text file (a suite, a recipe, a seed or parameter file) as UTF-8.

    A missing file, a folder and undecodable bytes become an :class:`ApcInputError`
    that names the file (and, for bad bytes, the line and byte offset), rather than a
    traceback. A UTF-8 byte-order mark is dropped.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str, default "file"
        What the file is, for the message ("suite file", "seed file", ...).

    Returns
    -------
    str
        The text.

    Raises
    ------
    ApcInputError
        If the file is missing, is a folder or is not UTF-8 text.
    """
    path = Path(path)
    if path.is_dir():
        raise ApcInputError(f"is a folder, expected a {what}", file=str(path))
    if not path.exists():
        raise ApcInputError(f"no such {what}", file=str(path))
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise not_utf8(path, data, e) from None


def not_utf8(
    path: str | Path, data: bytes, e: UnicodeDecodeError, *, line: int | None = None
) -> ApcInputError:
    """Return the error for undecodable bytes in ``path``, naming the line and byte offset.

    Parameters
    ----------
    path : str or Path
        The file.
    data : bytes
        What was being decoded: the whole file, or (with ``line``) one line of it.
    e : UnicodeDecodeError
        The decoding error (its offsets are offsets into ``data``).
    line : int, optional
        The line number of ``data`` when it is one line of the file.

    Returns
    -------
    ApcInputError
        The error to raise.
    """
    where = f"byte {e.start}" if line is None else f"byte {e.start} of the line"
    if line is None:
        line = data.count(b"\n", 0, e.start) + 1
    return ApcInputError(
        f"not UTF-8 text ({e.reason} at {where}); save the file as UTF-8",
        file=str(path), record=f"line {line}",
    )


class NotFittedError(RuntimeError):
    """A model was asked to recommend (or save) before ``fit`` was called."""


class DataWarning(UserWarning):
    """Something in the data was filled in, dropped or looks suspicious."""


class ParameterWarning(UserWarning):
    """A hyper-parameter value is legal but probably not what was meant."""
