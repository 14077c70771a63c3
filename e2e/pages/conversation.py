"""A queen conversation (``#/queen/<id>?session=<session>``): messages, replies, the composer."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Locator, Page, expect

REPLY_PREFIX = "Hello from the hive-resilience LLM stub."
"""The LLM stub's replies start with this and end by quoting the user's message."""
IDLE_PLACEHOLDER = "Message Queen Bee..."
"""The composer's placeholder once the queen waits for input."""
BUSY_PLACEHOLDER = "Queue a message"
"""How the composer's placeholder starts while the queen is busy with a turn."""
TOOL_CALL_ICONS = {"running": "lucide-loader-circle", "done": "lucide-check", "error": "lucide-x",
                   "warning": "lucide-triangle-alert", "interrupted": "lucide-ban"}
"""The icon a tool-call pill shows in each state (Hive 1.0.12's bundle, ``qv`` and ``Vv``)."""


def unique_message(text: str) -> str:
    """A short message whose reply can be told apart: the stub quotes its last 60 characters."""
    return f"e2e {uuid.uuid4().hex[:6]} {text}"


class QueenConversationPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def wait_until_open(self) -> None:
        self.page.wait_for_url(re.compile(r"#/queen/[^?]+\?session="))

    def wait_until_idle(self, timeout_s: float = 30) -> None:
        """Until the queen waits for input: a message sent earlier would be queued, not delivered."""
        self.page.locator(f'[contenteditable="true"][data-placeholder="{IDLE_PLACEHOLDER}"]').wait_for(
            timeout=timeout_s * 1000)

    def wait_for_greeting(self, timeout_s: float = 30) -> None:
        """Until the queen's greeting turn is over: her first reply shown, then the composer idle.

        The composer looks idle for a moment before the greeting turn starts, so idleness alone
        is not enough: a message typed then is queued behind the greeting, and Hive 1.0.12's
        dashboard sometimes never sends a queued message.
        """
        self.page.locator("p").filter(has_text=REPLY_PREFIX).first.wait_for(timeout=timeout_s * 1000)
        self.wait_until_idle(timeout_s)

    def busy_composer(self) -> Locator:
        """The composer while the queen is busy: a message sent now would be queued."""
        return self.page.locator(f'[contenteditable="true"][data-placeholder^="{BUSY_PLACEHOLDER}"]')

    @property
    def composer(self) -> Locator:
        return self.page.locator('[contenteditable="true"]').first

    def user_message(self, text: str) -> Locator:
        return self.page.get_by_text(text, exact=True)

    def reply_to(self, text: str) -> Locator:
        """The queen's reply quoting ``text`` (the stub quotes the end of the user's message)."""
        # A paragraph of its own: matching on text alone could hit a container that holds an
        # earlier reply and the user's message together.
        return self.page.locator("p").filter(has_text=re.compile(re.escape(REPLY_PREFIX) + r".*You said: .*" + re.escape(text)))

    def wait_for_reply_to(self, text: str, timeout_s: float = 30) -> float:
        """Seconds from now until the reply to ``text`` is visible."""
        started = time.perf_counter()
        self.reply_to(text).first.wait_for(timeout=timeout_s * 1000)
        return time.perf_counter() - started

    def send(self, text: str) -> float:
        """Send a message in this conversation; returns the time-to-reply in seconds."""
        started = time.perf_counter()
        self.type_and_send(text)
        self.reply_to(text).first.wait_for(timeout=30_000)
        return time.perf_counter() - started

    def type_and_send(self, text: str) -> None:
        """Type and send once the queen is idle, and wait until the message shows."""
        self.wait_until_idle()
        self.composer.click()
        self.composer.type(text)
        self.page.keyboard.press("Enter")
        self.user_message(text).first.wait_for()

    def visible_error(self, within: Locator | None = None) -> Locator:
        """Any error text the conversation (or the part of it ``within``) shows the user."""
        # A flag, not an inline "(?i)": Playwright hands the pattern to the browser, and JavaScript
        # rejects inline flags (the locator then fails as if no error were shown).
        error_text = re.compile(r"error|failed|unavailable|try again|could not|couldn't", re.IGNORECASE)
        return (within or self.page).get_by_text(error_text).filter(visible=True)

    def tool_call(self, tool: str) -> Locator:
        """The pill the conversation shows for the queen's calls of ``tool``: a button named after it."""
        return self.page.get_by_role("button").filter(has=self.page.get_by_text(tool, exact=True))

    def tool_call_in_state(self, tool: str, state: str) -> Locator:
        """The pill of ``tool`` in ``state``: running, done, error, warning or interrupted."""
        # The state is only an aria-hidden icon (no text, role or label says it), so this is the
        # one selector that reads a class.
        return self.tool_call(tool).filter(has=self.page.locator(f"svg.{TOOL_CALL_ICONS[state]}"))

    def open_tool_call(self, tool: str) -> Locator:
        """Unfold the pill of ``tool``; returns what it shows: each call's start time and duration."""
        pill = self.tool_call(tool).first
        pill.click()
        expect(pill).to_have_attribute("aria-expanded", "true")
        # The unfolded calls have no role or label: they are the block right after the row of pills.
        return pill.locator("xpath=../following-sibling::div[1]")
