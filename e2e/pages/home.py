"""The home page: tour, sidebar, the composer and the queen picker it opens."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page

from pages.conversation import QueenConversationPage

QUEEN_NAMES = ("Steve Jobs", "Larry Ellison", "Gary Vaynerchuk", "Alex Hormozi", "Chris Voss", "Jony Ive")


class HomePage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> float:
        """Load the dashboard; returns seconds until the composer is usable."""
        started = time.perf_counter()
        self.page.goto("/", wait_until="domcontentloaded")
        self.composer.wait_for()
        return time.perf_counter() - started

    @property
    def tour(self) -> Locator:
        return self.page.get_by_text("Welcome to Hive")

    def skip_tour(self) -> None:
        self.page.get_by_label("Skip tour").click()
        self.tour.wait_for(state="hidden")

    @property
    def composer(self) -> Locator:
        return self.page.locator('[contenteditable="true"]').first

    @property
    def sidebar(self) -> Locator:
        return self.page.locator("aside").first

    def sidebar_queens(self) -> list[str]:
        """The known queen names the sidebar shows."""
        text = self.sidebar.inner_text()
        return [name for name in QUEEN_NAMES if name in text]

    def send(self, message: str, queen: str) -> QueenConversationPage:
        """Type a message, press Enter, pick the queen in the picker; lands on the DM page.

        The message goes out while the queen's greeting turn may still run, so the dashboard
        can queue it (see the home-flow test for what that costs).
        """
        self.composer.click()
        self.composer.type(message)
        self.page.keyboard.press("Enter")
        self.page.get_by_text("Who do you want to talk to?").wait_for()
        # Picker entries read "<queen> Head of <role>"; the sidebar's read "<queen> <role>".
        self.page.get_by_role("button").filter(has_text=queen).filter(has_text="Head of").click()
        conversation = QueenConversationPage(self.page)
        conversation.wait_until_open()
        return conversation

    def open_queen(self, queen: str) -> QueenConversationPage:
        """Open a queen's DM from the sidebar and wait until her greeting turn is over."""
        self.sidebar.get_by_role("link", name=queen).click()
        self.page.wait_for_url(re.compile(r"#/queen/"))
        conversation = QueenConversationPage(self.page)
        conversation.wait_for_greeting()
        return conversation

    def go_to(self, entry: str) -> None:
        """Click a sidebar entry: New Chat, Org Chart or Configuration."""
        self.sidebar.get_by_role("button", name=entry, exact=True).click()
