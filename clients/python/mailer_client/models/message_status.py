from enum import StrEnum


class MessageStatus(StrEnum):
    BOUNCED = "bounced"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"

    def __str__(self) -> str:
        return str(self.value)
