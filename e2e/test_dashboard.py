"""User flows on the real Hive dashboard, each against a fresh embedded Hive."""

from __future__ import annotations

import re

import pytest
from pages.configuration import ConfigurationPage
from pages.conversation import unique_message
from pages.home import QUEEN_NAMES, HomePage
from pages.org_chart import OrgChartPage
from playwright.sync_api import Page, expect

from hive_resilience.clients import http_client


def test_first_visit_shows_the_tour_which_can_be_skipped_and_the_sidebar_lists_the_queens(
        dashboard: Page, record_timing):
    home = HomePage(dashboard)
    record_timing("page load until the composer is usable", home.open())
    expect(home.tour).to_be_visible()
    home.skip_tour()
    expect(home.tour).to_be_hidden()
    assert home.sidebar_queens() == list(QUEEN_NAMES)


@pytest.mark.flaky(reruns=1)  # see the reason below
def test_a_message_from_home_reaches_the_picked_queen_and_her_reply_streams_in(dashboard: Page, record_timing):
    # Hive 1.0.12 race, seen a few times under CPU load: when the greeting turn is still running,
    # the dashboard queues this first message and, after reconnecting its event stream, never
    # sends it ("queued" forever). It is not deterministic, so it cannot be a strict xfail; one
    # rerun keeps CI honest about a flow that fails every time.
    home = HomePage(dashboard)
    home.open()
    home.skip_tour()
    message = unique_message("hello queen")
    conversation = home.send(message, queen="Steve Jobs")
    record_timing("time-to-reply, first message", conversation.wait_for_reply_to(message))
    expect(conversation.user_message(message)).to_be_visible()
    assert "#/queen/queen_growth" in dashboard.url


def test_a_second_message_is_answered_and_the_conversation_survives_a_reload(dashboard: Page, record_timing):
    home = HomePage(dashboard)
    home.open()
    home.skip_tour()
    first, second = unique_message("first"), unique_message("second")
    conversation = home.open_queen("Larry Ellison")
    conversation.send(first)
    record_timing("time-to-reply, second message", conversation.send(second))
    dashboard.reload(wait_until="domcontentloaded")
    for message in (first, second):
        expect(conversation.user_message(message).first).to_be_visible()
        expect(conversation.reply_to(message).first).to_be_visible()


def test_org_chart_and_configuration_navigate_and_deep_links_work(dashboard: Page):
    home = HomePage(dashboard)
    home.open()
    home.skip_tour()
    org_chart = OrgChartPage(dashboard)
    home.go_to("Org Chart")
    org_chart.wait_until_shown()
    home.go_to("Configuration")
    configuration = ConfigurationPage(dashboard)
    configuration.open_section("Credentials")
    configuration.open_section("Skills")
    dashboard.go_back()
    dashboard.wait_for_url("**/#/credentials")
    org_chart.open_directly()
    org_chart.wait_until_shown()
    expect(home.sidebar).to_contain_text(re.compile("queen bees", re.IGNORECASE))
    home.go_to("New Chat")
    expect(home.composer).to_be_visible()


def test_the_conversation_held_in_the_ui_is_the_one_the_api_lists(dashboard: Page, hive):
    home = HomePage(dashboard)
    home.open()
    home.skip_tour()
    conversation = home.open_queen("Jony Ive")
    message = unique_message("ui and api agree")
    conversation.send(message)
    history = http_client.hive_call("GET", f"{hive.api_url}/api/sessions/history").json["sessions"]
    ours = [session for session in history if session.get("queen_id") == "queen_brand_design"]
    assert len(ours) == 1, history
    assert ours[0]["has_messages"] and ours[0]["message_count"] >= 2
    live = http_client.hive_call("GET", f"{hive.api_url}/api/sessions").json["sessions"]
    assert ours[0]["session_id"] in [session["session_id"] for session in live]
