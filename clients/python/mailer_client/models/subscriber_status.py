from enum import StrEnum


class SubscriberStatus(StrEnum):
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUBSCRIBED = "subscribed"
    UNCONFIRMED = "unconfirmed"
    UNSUBSCRIBED = "unsubscribed"

    def __str__(self) -> str:
        return str(self.value)
