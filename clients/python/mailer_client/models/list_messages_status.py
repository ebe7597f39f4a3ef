from enum import StrEnum


class ListMessagesStatus(StrEnum):
    BOUNCED = "bounced"
    CANCELLED = "cancelled"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"

    def __str__(self) -> str:
        return str(self.value)
