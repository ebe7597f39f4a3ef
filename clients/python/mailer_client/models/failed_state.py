from enum import StrEnum


class FailedState(StrEnum):
    FAILED = "failed"
    IN_DOUBT = "in_doubt"

    def __str__(self) -> str:
        return str(self.value)
