"""HiveApiUser: a client driving Hive's session lifecycle through its HTTP API."""

from __future__ import annotations

import time
import uuid

from locust import FastHttpUser, task

from hive_resilience.clients.hive_events import (
    ReplyError,
    SessionEventStream,
    auth_headers,
    wait_for_reply,
)
from hive_resilience.loadrun import locust_plugin  # noqa: F401  (registers the suite's Locust listeners)
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE
from hive_resilience.target.embedded import LOOPBACK, TargetPorts

DEFAULT_API_URL = f"http://{LOOPBACK}:{TargetPorts().api}"
REPLY_REQUEST_NAME = "chat time-to-reply"


class HiveApiUser(FastHttpUser):
    """Create a session, read it, chat and wait for the streamed reply, list, delete; check health.

    Every answer is checked for status, JSON content type and body: unknown ``/api/*`` paths
    fall through to the dashboard and answer 200 with HTML. Time-to-reply (chat sent until
    the queen waits for input again) is its own request entry, ``JOURNEY chat time-to-reply``,
    kept out of the aggregate and gated by its own SLOs.
    """

    host = DEFAULT_API_URL
    reply_timeout_s = 30.0

    @classmethod
    def configure(cls, config, scenario, options) -> None:
        cls.host = (options.host or config.host or DEFAULT_API_URL).rstrip("/")
        cls.reply_timeout_s = scenario.reply_timeout_s

    @classmethod
    def target_url(cls) -> str:
        return cls.host

    def on_start(self) -> None:
        self.headers = auth_headers()

    @task(1)
    def health(self) -> None:
        with self.client.get("/api/health", name="/api/health", headers=self.headers, catch_response=True) as response:
            body = expect_json(response, 200)
            if body is not None and body.get("status") != "ok":
                response.failure(f"health status is {body.get('status')!r}")

    @task(3)
    def session_lifecycle(self) -> None:
        session_id = self._create_session()
        if session_id is None:
            return
        try:
            self._read_session(session_id)
            self._chat_and_wait_for_reply(session_id)
            self._list_sessions(session_id)
        finally:
            self._delete_session(session_id)

    def _create_session(self) -> str | None:
        with self.client.post("/api/sessions", json={}, name="/api/sessions", headers=self.headers,
                              catch_response=True) as response:
            body = expect_json(response, 201)
            if body is None:
                return None
            if not body.get("session_id"):
                response.failure("no session_id in the answer")
                return None
            return body["session_id"]

    def _read_session(self, session_id: str) -> None:
        with self.client.get(f"/api/sessions/{session_id}", name="/api/sessions/[id]", headers=self.headers,
                             catch_response=True) as response:
            body = expect_json(response, 200)
            if body is not None and body.get("session_id") != session_id:
                response.failure("the answer is about another session")

    def _chat_and_wait_for_reply(self, session_id: str) -> None:
        message = f"hive-resilience load message {uuid.uuid4().hex[:12]}"
        stream = SessionEventStream(self.host, session_id, self.reply_timeout_s)
        started = time.perf_counter()
        try:
            stream.open()
        except ReplyError as error:
            self._record_reply(started, error)
            return
        try:
            with self.client.post(f"/api/sessions/{session_id}/chat", json={"message": message},
                                  name="/api/sessions/[id]/chat", headers=self.headers,
                                  catch_response=True) as response:
                body = expect_json(response, 200)
                if body is not None and body.get("delivered") is not True:
                    response.failure(f"message not delivered: {body}")
                    body = None
            if body is None:
                return
            started = time.perf_counter()
            try:
                wait_for_reply(stream.events(), message)
                self._record_reply(started, None)
            except ReplyError as error:
                self._record_reply(started, error)
        finally:
            stream.close()

    def _record_reply(self, started: float, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type=JOURNEY_REQUEST_TYPE, name=REPLY_REQUEST_NAME,
            response_time=(time.perf_counter() - started) * 1000, response_length=0, exception=error, context={},
        )

    def _list_sessions(self, session_id: str) -> None:
        with self.client.get("/api/sessions", name="/api/sessions", headers=self.headers,
                             catch_response=True) as response:
            body = expect_json(response, 200)
            if body is not None and session_id not in str(body):
                response.failure("the live session list lacks this user's session")

    def _delete_session(self, session_id: str) -> None:
        with self.client.delete(f"/api/sessions/{session_id}", name="/api/sessions/[id]", headers=self.headers,
                                catch_response=True) as response:
            body = expect_json(response, 200)
            if body is not None and body.get("stopped") is not True:
                response.failure(f"session not stopped: {body}")


def expect_json(response, status: int) -> dict | None:
    """The JSON body if status and content type are right; otherwise mark a failure, return None."""
    if response.status_code != status:
        response.failure(f"expected HTTP {status}, got {response.status_code}")
        return None
    content_type = response.headers.get("Content-Type", "") if response.headers else ""
    if not content_type.startswith("application/json"):
        response.failure(f"expected JSON, got {content_type or 'no content type'}")
        return None
    try:
        body = response.json()
    except ValueError:
        response.failure("body is not valid JSON")
        return None
    if not isinstance(body, dict):
        response.failure("body is not a JSON object")
        return None
    response.success()
    return body
