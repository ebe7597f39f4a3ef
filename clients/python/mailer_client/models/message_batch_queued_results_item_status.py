from enum import StrEnum


class MessageBatchQueuedResultsItemStatus(StrEnum):
    QUEUED = "queued"
    REFUSED = "refused"

    def __str__(self) -> str:
        return str(self.value)
