from enum import StrEnum


class FailureReason(StrEnum):
    GAVE_UP = "gave_up"
    INVALID_ADDRESS = "invalid_address"
    IN_DOUBT = "in_doubt"
    REFUSED = "refused"
    SENDER_DELETED = "sender_deleted"
    SUPPRESSED = "suppressed"
    TEMPLATE = "template"

    def __str__(self) -> str:
        return str(self.value)
