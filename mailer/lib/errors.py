"""The error services raise when input is wrong: field -> message, shown next to the field."""

from __future__ import annotations

from collections.abc import Iterable


class ValidationError(Exception):
    """``conflicts`` names the fields refused only because their value is already taken (a
    name, an address): the API answers those alone with 409 rather than 422."""

    def __init__(self, errors: dict[str, str] | str, conflicts: Iterable[str] = ()):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = errors
        self.conflicts = frozenset(conflicts)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))


class NotAllowed(Exception):
    """A state transition or action refused by the domain rules (not by permissions)."""
