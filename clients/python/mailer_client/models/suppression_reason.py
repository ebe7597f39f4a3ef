from enum import StrEnum


class SuppressionReason(StrEnum):
    COMPLAINT = "complaint"
    HARD_BOUNCE = "hard_bounce"
    IMPORT = "import"
    MANUAL = "manual"
    SOFT_BOUNCES = "soft_bounces"
    UNSUBSCRIBED = "unsubscribed"

    def __str__(self) -> str:
        return str(self.value)
