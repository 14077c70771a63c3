"""The Org Chart page (``#/org-chart``): the queens and their colonies."""

from __future__ import annotations

from playwright.sync_api import Page

ROUTE = "/#/org-chart"


class OrgChartPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open_directly(self) -> None:
        """A deep link: load the route itself, not through the sidebar."""
        self.page.goto(ROUTE, wait_until="domcontentloaded")

    def wait_until_shown(self) -> None:
        self.page.wait_for_url(f"**/{ROUTE.lstrip('/')}")
