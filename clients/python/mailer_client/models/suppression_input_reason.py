from enum import StrEnum


class SuppressionInputReason(StrEnum):
    MANUAL = "manual"

    def __str__(self) -> str:
        return str(self.value)
