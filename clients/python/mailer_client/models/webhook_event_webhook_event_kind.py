from enum import StrEnum


class WebhookEventWebhookEventKind(StrEnum):
    BOUNCED = "bounced"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    SENT = "sent"
    TEST = "test"
    UNSUBSCRIBED = "unsubscribed"

    def __str__(self) -> str:
        return str(self.value)
