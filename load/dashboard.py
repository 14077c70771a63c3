"""DashboardUser: replays the API calls the real dashboard makes on a visit (load/dashboard_recording.json)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from locust import FastHttpUser, task

from hive_resilience.clients.hive_conversation import (
    ConversationError,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.hive_events import auth_headers
from hive_resilience.loadrun.dashboard_recording import (
    MESSAGE_PLACEHOLDER,
    SESSION_PLACEHOLDER,
    DashboardRecording,
    RecordedCall,
    RecordingError,
    load_recording,
)
from hive_resilience.loadrun.locust_transport import DEFAULT_API_URL, LocustTransport
from hive_resilience.loadrun.scenario import ScenarioError
from hive_resilience.loadrun.users import ScenarioUser


class DashboardUser(FastHttpUser, ScenarioUser):
    """One dashboard visit per task: the page-load calls, then a conversation's calls, then its polling.

    The calls and their order come from the recording of the real dashboard
    (``hive-resilience record-dashboard``), so a new Hive's dashboard is followed by recording it
    again, not by editing this class. Each visit opens its own session through the suite's
    conversation helper (the dashboard's ``POST /api/queen/<queen>/session`` answers the queen's one
    live session, shared by every visitor, so it is replayed but its session is not used), fills
    ``[id]`` with it and ``[message]`` with a unique message, polls for ``polling_s`` at the
    recorded intervals, and stops the session. Every answer must have the recorded status and be
    JSON (an event stream: ``text/event-stream``, closed once it answered), because unknown
    ``/api/*`` paths answer 200 with the dashboard's HTML. Request names are the recorded
    templates, e.g. ``/api/sessions/[id]/tasks``.
    """

    host = DEFAULT_API_URL
    polling_s = 20.0
    """How long a visit keeps polling after the conversation opened: the visitor reads the reply."""
    recording: DashboardRecording | None = None

    @classmethod
    def configure(cls, config, scenario, options) -> None:
        super().configure(config, scenario, options)
        try:
            cls.recording = load_recording()
        except RecordingError as error:
            raise ScenarioError(str(error)) from None

    def on_start(self) -> None:
        self.headers = auth_headers()
        self.conversation = HiveConversation(LocustTransport(self.client, self.headers), self.host)

    @task
    def visit(self) -> None:
        for call in self.recording.in_phase("page_load"):
            self._replay(call, session_id="")
        try:
            session_id = self.conversation.create_session()
        except ConversationError:
            return
        try:
            for call in self.recording.in_phase("conversation_open"):
                self._replay(call, session_id)
            self._poll(session_id)
        finally:
            try:
                self.conversation.delete_session(session_id)
            except ConversationError:
                pass  # recorded by Locust as a failed request

    def _poll(self, session_id: str) -> None:
        """Each polling call at its recorded interval until ``polling_s`` has passed."""
        started = time.monotonic()
        calls = self.recording.in_phase("polling")
        due_s = [call.interval_s for call in calls]
        while calls:
            index = min(range(len(calls)), key=due_s.__getitem__)
            if due_s[index] > self.polling_s:
                return
            time.sleep(max(0.0, due_s[index] - (time.monotonic() - started)))
            self._replay(calls[index], session_id, times=1)
            due_s[index] += calls[index].interval_s

    def _replay(self, call: RecordedCall, session_id: str, times: int | None = None) -> None:
        """Send the call ``times`` times (default: as often as the dashboard did in its phase),
        checking each answer."""
        path = call.path.replace(SESSION_PLACEHOLDER, session_id)
        if call.query:
            path += "?" + urlencode({key: value.replace(SESSION_PLACEHOLDER, session_id) for key, value in call.query.items()})
        body = _fill(call.body, session_id) if call.body is not None else None
        for _ in range(call.count if times is None else times):
            with self.client.request(call.method, path, json=body, name=call.name, headers=self.headers,
                                     stream=call.stream, catch_response=True) as response:
                problem = call.answer_problem(response.status_code, response.headers.get("Content-Type", "")
                                              if response.headers else "", None if call.stream else response.text)
                if problem:
                    response.failure(problem)
                else:
                    response.success()
            # An event stream never ends: dropping the unread response makes the pool close its
            # connection instead of reusing it.
            del response


def _fill(value: object, session_id: str) -> object:
    """The recorded body with ``[id]`` as this visit's session and ``[message]`` as a unique message."""
    text = json.dumps(value).replace(SESSION_PLACEHOLDER, session_id)
    return json.loads(text.replace(MESSAGE_PLACEHOLDER, unique_message("dashboard message")))

