"""The one Hive conversation: each step's request and check, the reply from the event stream,
and failures named by step (against a small fake Hive on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hive_resilience.clients.hive_conversation import (
    CHAT_NAME,
    SESSION_NAME,
    SESSIONS_NAME,
    ConversationError,
    HiveConversation,
    WrongAnswer,
    json_answer,
    unique_message,
)
from hive_resilience.clients.hive_events import ReplyTimeout

SESSION_ID = "session-1"


class FakeHive:
    """Answers the conversation's routes; ``turn`` is the events streamed after our message."""

    def __init__(self) -> None:
        self.turn: list[dict] = [{"type": "client_output_delta", "data": {"snapshot": "Hello"}},
                                 {"type": "client_input_requested", "data": {}}]
        self.chat_answer: tuple[int, str, str] = (200, "application/json", '{"delivered": true}')
        self.requests: list[str] = []
        self.message: str | None = None
        self.delivered = threading.Event()
        self.released = threading.Event()
        """Set at teardown: until then event streams stay open, as Hive's do."""


@pytest.fixture
def hive() -> Iterator[tuple[FakeHive, str]]:
    fake = FakeHive()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def answer(self, status: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            fake.requests.append(f"POST {self.path}")
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/api/sessions":
                self.answer(201, "application/json", json.dumps({"session_id": SESSION_ID}))
            else:
                fake.message = payload["message"]
                self.answer(*fake.chat_answer)
                fake.delivered.set()

        def do_GET(self) -> None:
            fake.requests.append(f"GET {self.path}")
            if self.path.endswith("/events"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if fake.delivered.wait(timeout=5):
                    events = [{"type": "client_input_received", "data": {"content": fake.message}}, *fake.turn]
                    self.wfile.write("".join(f"data: {json.dumps(e)}\n\n" for e in events).encode())
                    self.wfile.flush()
                fake.released.wait(timeout=3)
            else:
                self.answer(200, "application/json", json.dumps({"session_id": SESSION_ID, "sessions": [SESSION_ID]}))

        def do_DELETE(self) -> None:
            fake.requests.append(f"DELETE {self.path}")
            self.answer(200, "application/json", '{"stopped": true}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_port}"
    finally:
        fake.released.set()
        server.shutdown()
        server.server_close()


def test_a_whole_conversation_creates_chats_and_deletes(hive):
    fake, url = hive
    conversation = HiveConversation.blocking(url, timeout_s=5)
    session_id = conversation.create_session()
    conversation.read_session(session_id)
    turn = conversation.chat(session_id, unique_message("test"), reply_timeout_s=5)
    conversation.list_sessions(session_id)
    conversation.delete_session(session_id)
    assert (turn.reply, turn.error) == ("Hello", None) and 0 <= turn.reply_s < 5
    assert fake.requests == ["POST /api/sessions", f"GET /api/sessions/{SESSION_ID}",
                             f"GET /api/sessions/{SESSION_ID}/events", f"POST /api/sessions/{SESSION_ID}/chat",
                             "GET /api/sessions", f"DELETE /api/sessions/{SESSION_ID}"]


def test_a_failed_turn_is_returned_with_hives_error(hive):
    fake, url = hive
    fake.turn = [{"type": "execution_failed", "data": {"error": "LLM unavailable"}}]
    turn = HiveConversation.blocking(url, timeout_s=5).chat(SESSION_ID, unique_message("test"), reply_timeout_s=5)
    assert turn.reply == "" and "execution_failed: LLM unavailable" in str(turn.error)


def test_a_reply_that_never_comes_is_a_timeout_not_a_hang(hive):
    fake, url = hive
    fake.turn = []
    turn = HiveConversation.blocking(url, timeout_s=5).chat(SESSION_ID, unique_message("test"), reply_timeout_s=0.5)
    assert isinstance(turn.error, ReplyTimeout) and turn.reply_s < 2


def test_an_undelivered_message_names_the_step_and_the_problem(hive):
    fake, url = hive
    fake.chat_answer = (200, "text/html", "<html>dashboard</html>")
    with pytest.raises(ConversationError, match=r"^POST /api/sessions/\[id\]/chat: expected JSON, got text/html$"):
        HiveConversation.blocking(url, timeout_s=5).chat(SESSION_ID, unique_message("test"), reply_timeout_s=5)


def test_an_error_reported_during_the_turn_is_returned(hive):
    fake, url = hive
    fake.turn = [{"type": "node_retry", "data": {"error": "LLM answered 500"}}]
    conversation = HiveConversation.blocking(url, timeout_s=5)
    assert conversation.chat_until_error(SESSION_ID, unique_message("test"), within_s=5) == "LLM answered 500"


def test_an_unreachable_hive_is_a_conversation_error():
    with pytest.raises(ConversationError, match=r"^POST /api/sessions: "):
        HiveConversation.blocking("http://127.0.0.1:9", timeout_s=2).create_session()


@pytest.mark.parametrize(("status", "content_type", "text", "problem"), [
    (500, "application/json", "{}", "expected HTTP 200, got 500"),
    (200, "text/html", "<html>", "expected JSON, got text/html"),
    (200, "application/json", "{", "body is not valid JSON"),
    (200, "application/json", "[]", "body is not a JSON object"),
])
def test_wrong_answers_say_what_is_wrong(status, content_type, text, problem):
    with pytest.raises(WrongAnswer, match=problem):
        json_answer(status, 200, content_type, text)


def test_request_names_are_the_ones_reports_and_slos_use():
    assert (SESSIONS_NAME, SESSION_NAME, CHAT_NAME) == ("/api/sessions", "/api/sessions/[id]", "/api/sessions/[id]/chat")
