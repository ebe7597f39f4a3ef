from enum import StrEnum


class MessageDeliveryStatus(StrEnum):
    BOUNCED = "bounced"
    CANCELLED = "cancelled"
    COMPLAINED = "complained"
    DELIVERED = "delivered"
    FAILED = "failed"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"

    def __str__(self) -> str:
        return str(self.value)
