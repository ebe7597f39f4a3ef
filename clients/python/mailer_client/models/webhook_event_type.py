from enum import StrEnum


class WebhookEventType(StrEnum):
    BOUNCED = "bounced"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    SENT = "sent"
    UNSUBSCRIBED = "unsubscribed"

    def __str__(self) -> str:
        return str(self.value)
