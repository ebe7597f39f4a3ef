from enum import StrEnum


class EventType(StrEnum):
    BOUNCE = "bounce"
    CLICK = "click"
    COMPLAINT = "complaint"
    DEFERRED = "deferred"
    DELIVERY = "delivery"
    OPEN = "open"
    REJECT = "reject"
    UNSUBSCRIBE = "unsubscribe"

    def __str__(self) -> str:
        return str(self.value)
