"""The Configuration section: the sidebar entry unfolds Credentials, Skills and Memory."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

SECTION_ROUTES = {"Credentials": "#/credentials", "Skills": "#/skills-library"}


class ConfigurationPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def section_link(self, name: str) -> Locator:
        return self.page.locator("aside").get_by_role("button", name=name, exact=True)

    def open_section(self, name: str) -> None:
        """Click a section in the unfolded Configuration menu and wait for its route."""
        self.section_link(name).click()
        self.page.wait_for_url(f"**/{SECTION_ROUTES[name]}")
