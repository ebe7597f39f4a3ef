from enum import StrEnum


class ImportUploadMode(StrEnum):
    BLOCKLIST = "blocklist"
    CONFIRM = "confirm"
    SKIP = "skip"
    UPSERT = "upsert"

    def __str__(self) -> str:
        return str(self.value)
