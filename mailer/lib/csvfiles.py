"""The one CSV writer for files Mailer writes: cells cannot become spreadsheet formulas.

Exports and reports carry text others typed (addresses, names, rejected import rows, provider
errors). A spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (``=HYPERLINK("http://evil.example","x")``), so such text cells get a
leading single quote, as OWASP's CSV injection advice says. Numbers Mailer writes itself stay
numbers (a count of -1 would stay -1); text that merely looks like a negative number is still
quoted, since ``-2+3`` is a formula too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, prefixed with ``'``; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, stream: Any, **fmtparams: Any) -> None:
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        # safe_cell inlined: exports write millions of cells, and a call per cell is a third
        # of their time.
        return self._writer.writerow(
            [
                "'" + value if value.__class__ is str and value.startswith(FORMULA_START) else value
                for value in row
            ]
        )

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any, **fmtparams: Any) -> SafeWriter:
    """Use instead of ``csv.writer`` for every file Mailer writes."""
    return SafeWriter(stream, **fmtparams)
