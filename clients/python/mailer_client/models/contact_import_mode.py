from enum import StrEnum


class ContactImportMode(StrEnum):
    BLOCKLIST = "blocklist"
    CONFIRM = "confirm"
    SKIP = "skip"
    UPSERT = "upsert"

    def __str__(self) -> str:
        return str(self.value)
