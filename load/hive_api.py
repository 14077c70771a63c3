"""HiveApiUser: a client driving Hive's session lifecycle through its HTTP API."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from locust import FastHttpUser, task

from hive_resilience.clients.agent_scripts import (
    AgentScript,
    parse_script,
    turn_journeys,
)
from hive_resilience.clients.hive_conversation import (
    ChatTurn,
    ConversationError,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.hive_events import ReplyError, auth_headers
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE
from hive_resilience.loadrun.locust_transport import DEFAULT_API_URL, LocustTransport
from hive_resilience.loadrun.users import ScenarioUser

T = TypeVar("T")


class HiveApiUser(FastHttpUser, ScenarioUser):
    """Create a session, read it, chat and wait for the streamed reply, list, delete; check health.

    Every answer is checked for status, JSON content type and body: unknown ``/api/*`` paths
    fall through to the dashboard and answer 200 with HTML. Time-to-reply (chat delivered until
    the queen waits for input again) is its own request entry, ``JOURNEY chat time-to-reply``,
    kept out of the aggregate and gated by its own SLOs.

    With a script mix (``scripts`` in the scenario) each message asks the LLM stub for a
    script, and each reply also gives the agent journeys: time to first token, time-to-reply
    per script (failed when the turn did not go as scripted, e.g. a tool failed, whatever
    ``is_error`` Hive reported), each tool call's latency, and the reply's time in the model,
    in tools and in Hive itself.
    """

    host = DEFAULT_API_URL
    reply_timeout_s = 30.0
    scripts: tuple[AgentScript, ...] = ()
    script_weights: tuple[int, ...] = ()

    @classmethod
    def configure(cls, config, scenario, options) -> None:
        super().configure(config, scenario, options)
        cls.reply_timeout_s = scenario.reply_timeout_s
        mix = config.scripts or {}
        cls.scripts = tuple(parse_script(key) for key in mix)
        cls.script_weights = tuple(mix.values())

    def on_start(self) -> None:
        self.transport = LocustTransport(self.client, auth_headers())
        self.conversation = HiveConversation(self.transport, self.host)

    @task(1)
    def health(self) -> None:
        self._attempt(self.transport.exchange, "GET", "/api/health", None, "/api/health", 200,
                      lambda body: None if body.get("status") == "ok" else f"health status is {body.get('status')!r}")

    @task(3)
    def session_lifecycle(self) -> None:
        session_id = self._attempt(self.conversation.create_session)
        if session_id is None:
            return
        try:
            self._attempt(self.conversation.read_session, session_id)
            script = random.choices(self.scripts, weights=self.script_weights)[0] if self.scripts else None
            message = unique_message("load message") + (f" {script.directive}" if script else "")
            turn = self._attempt(self.conversation.chat, session_id, message, self.reply_timeout_s)
            if turn is not None:
                self._record_turn(turn, script)
            self._attempt(self.conversation.list_sessions, session_id)
        finally:
            self._attempt(self.conversation.delete_session, session_id)

    @staticmethod
    def _attempt(step: Callable[..., T], *args: object) -> T | None:
        """One step's result, or None when it failed: Locust has recorded the failed request, and
        the journey goes on, as a real client would (the session is deleted in any case)."""
        try:
            return step(*args)
        except ConversationError:
            return None

    def _record_turn(self, turn: ChatTurn, script: AgentScript | None) -> None:
        for journey in turn_journeys(turn, script):
            self.environment.events.request.fire(
                request_type=JOURNEY_REQUEST_TYPE, name=journey.name, response_time=journey.duration_s * 1000,
                response_length=0, exception=ReplyError(journey.problem) if journey.problem else None, context={},
            )
