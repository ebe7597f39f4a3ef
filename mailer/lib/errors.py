"""The error services raise when input is wrong: field -> message, shown next to the field."""

from __future__ import annotations


class ValidationError(Exception):
    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))


class NotAllowed(Exception):
    """A state transition or action refused by the domain rules (not by permissions)."""
