"""Hive's conversation flow through Locust's client, shared by the load users that talk to Hive.

It lives in the library, not in a locustfile, because Locust loads each file of ``load/`` on its
own: whether one locustfile can import another depends on the working directory.
"""

from __future__ import annotations

from hive_resilience.clients.hive_conversation import (
    Check,
    ConversationError,
    WrongAnswer,
    json_answer,
)
from hive_resilience.target.embedded import LOOPBACK, TargetPorts

DEFAULT_API_URL = f"http://{LOOPBACK}:{TargetPorts().api}"
"""The embedded Hive's API: the default host of the load users that talk to Hive."""


class LocustTransport:
    """The conversation's requests through Locust's client, each one a request entry under its name."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def exchange(self, method: str, path: str, payload: dict | None, name: str, expected_status: int,
                 check: Check) -> dict:
        with self.client.request(method, path, json=payload, name=name, headers=self.headers,
                                 catch_response=True) as response:
            content_type = response.headers.get("Content-Type", "") if response.headers else ""
            try:
                body = json_answer(response.status_code, expected_status, content_type, response.text or "")
                problem = check(body)
            except WrongAnswer as error:
                problem = str(error)
            if problem:
                response.failure(problem)
            else:
                response.success()
        if problem:  # raised outside the block: Locust's context manager swallows some exceptions
            raise ConversationError.at(method, name, problem)
        return body
