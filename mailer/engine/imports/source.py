"""An uploaded file read in chunks, with the UTF-8, line-length and position checks every
format needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mailer.engine.imports import messages
from mailer.engine.imports.fields import ImportFileError

#: Longest CSV/NDJSON line, CSV field or JSON item accepted.
MAX_LINE_BYTES = 1 << 20
#: Read size for CSV/NDJSON (1 MiB was no faster and peaked higher). Must not exceed
#: MAX_LINE_BYTES: the line-length check relies on it.
CHUNK_BYTES = 64 * 1024
#: Read up front to detect the format and find the array in a JSON wrapper object.
HEAD_BYTES = 256 * 1024

BOM = b"\xef\xbb\xbf"


class ChunkedSource:
    """The upload, read in chunks, with the byte and line counters error messages need."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._f = fileobj
        head = self._read_full(HEAD_BYTES)
        self.bom = len(BOM) if head.startswith(BOM) else 0
        self.head = head[self.bom :]
        self._head_pos = 0
        self.offset = self.bom  # file offset of the next byte handed out

    def _read_full(self, n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            part = self._f.read(n - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def read(self, n: int) -> bytes:
        if self._head_pos < len(self.head):
            data = self.head[self._head_pos : self._head_pos + n]
            self._head_pos += len(data)
            if self._head_pos >= len(self.head):
                self.head = b""  # free the head once it has been handed out
                self._head_pos = 0
        else:
            data = self._f.read(n)
        self.offset += len(data)
        return data

    @staticmethod
    def utf8_error(
        data: bytes, exc: UnicodeDecodeError, line: int, offset: int, item: int | None = None
    ) -> ImportFileError:
        """``line``/``offset`` are those of ``data[0]`` in the file; ``item`` is for JSON."""
        line += data.count(b"\n", 0, exc.start)
        values = {"byte": f"{data[exc.start]:02x}", "line": line, "offset": offset + exc.start}
        if item is not None:
            return ImportFileError(
                messages.NOT_UTF8_ITEM, position=f"item {item}", item=item, **values
            )
        return ImportFileError(messages.NOT_UTF8, position=f"line {line}", **values)

    def text_blocks(self) -> Iterator[str]:
        """Yield decoded text cut at line ends, checking UTF-8 and line length on the way.

        A bad byte raises only after the complete lines before it have been yielded, so rows
        before it are still imported. Lines inside a chunk are at most CHUNK_BYTES long; only
        a line carried over a chunk boundary needs its length checked.
        """
        carry = b""
        line = 1  # line number of the first line of the next block
        offset = self.offset
        while True:
            chunk = self.read(CHUNK_BYTES)
            if not chunk:
                break
            newline = chunk.find(b"\n")
            if carry:
                if len(carry) + (newline + 1 if newline >= 0 else len(chunk)) > MAX_LINE_BYTES:
                    raise ImportFileError(
                        messages.LINE_TOO_LONG,
                        position=f"line {line}",
                        line=line,
                        limit=MAX_LINE_BYTES,
                    )
                if newline < 0:
                    carry += chunk
                    continue
                data = carry + chunk
            else:
                data = chunk
                if newline < 0:
                    carry = data
                    continue
            cut = data.rfind(b"\n") + 1
            block, carry = data[:cut], data[cut:]
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError as exc:
                good = block[: block.rfind(b"\n", 0, exc.start) + 1]
                if good:
                    yield good.decode("utf-8")
                raise self.utf8_error(block, exc, line, offset) from None
            yield text
            line += block.count(b"\n")
            offset += cut
        if carry:
            try:
                text = carry.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.utf8_error(carry, exc, line, offset) from None
            yield text
