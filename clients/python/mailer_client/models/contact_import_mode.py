from enum import StrEnum


class ContactImportMode(StrEnum):
    BLOCKLIST = "blocklist"
    SKIP = "skip"
    UPSERT = "upsert"

    def __str__(self) -> str:
        return str(self.value)
