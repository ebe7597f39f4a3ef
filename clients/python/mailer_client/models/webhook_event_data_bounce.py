from enum import StrEnum


class WebhookEventDataBounce(StrEnum):
    HARD = "hard"
    SOFT = "soft"

    def __str__(self) -> str:
        return str(self.value)
