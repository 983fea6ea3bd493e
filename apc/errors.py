"""Exceptions and warning classes shared by the whole package.

``ApcInputError`` is the one error type for bad user input (missing file, malformed
record, unknown option). It carries the file, record and field so that the CLI can
print a single clear line and exit with status 2.
"""

from __future__ import annotations


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


class NotFittedError(RuntimeError):
    """A model was asked to recommend (or save) before ``fit`` was called."""


class DataWarning(UserWarning):
    """Something in the data was filled in, dropped or looks suspicious."""


class ParameterWarning(UserWarning):
    """A hyper-parameter value is legal but probably not what was meant."""
