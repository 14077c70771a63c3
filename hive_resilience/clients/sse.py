"""Server-sent events decoding, shared by the MCP client and the Hive event-stream reader.

Both of Hive's servers speak SSE: the tools server wraps even single JSON-RPC replies in
``event: message`` frames, and Hive streams a session's events as ``data:`` lines. The
decoder is incremental so a reader can act on each event as its frame completes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: its type (``message`` unless named) and its joined data lines."""

    data: str
    event: str = "message"
    id: str | None = None


class SseDecoder:
    """Feed text as it arrives; complete events come back as soon as their blank line does.

    Lines are cut as the WHATWG event-stream rules say (CRLF, LF or CR each end a line, and a
    leading BOM is dropped) whatever the chunking: a CRLF split across two chunks is one line
    end, not an empty line that would dispatch half an event and lose its ``event:`` name.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._at_stream_start = True
        self._after_cr = False

    def feed(self, chunk: str) -> list[SseEvent]:
        if self._at_stream_start and chunk:
            chunk = chunk.removeprefix("\ufeff")
            self._at_stream_start = False
        if self._after_cr and chunk.startswith("\n"):
            chunk = chunk[1:]
        if chunk:
            self._after_cr = chunk.endswith("\r")
        self._pending += chunk.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._pending = self._pending.split("\n")
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SseEvent]:
        """Events left when the stream ends without a final blank line."""
        return self.feed("\n\n") if self._pending or self._data else []

    def _line(self, line: str) -> SseEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SseEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
        self._data, self._event = [], ""
        return event


def parse_sse(text: str) -> list[SseEvent]:
    """All events in a complete SSE body."""
    decoder = SseDecoder()
    return decoder.feed(text) + decoder.close()
