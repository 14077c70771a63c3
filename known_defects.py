"""Known defects as strict xfails that pin today's wrong behaviour (a pytest plugin).

Loaded for every suite by the root ``conftest.py``. A test of a known defect in the software
under test says what is wrong, checks the right behaviour, and checks that what it got instead
is exactly today's wrong behaviour::

    @pytest.mark.known_defect("Hive 1.0.12: malformed JSON on chat answers 500 as text/plain")
    def test_malformed_chat_gets_a_json_400(known_defect):
        answer = post_chat(b"{bad")
        known_defect.check(right=lambda: is_json_4xx(answer), today=lambda: answered(answer, 500, "text/plain"))

Three outcomes, each for a reason:

- **xfailed**: the right behaviour failed with an ``AssertionError`` *and* today's wrong
  behaviour was seen exactly: the known defect, unchanged.
- **failed (XPASS strict)**: the right behaviour holds: the defect is fixed, drop the mark.
- **failed (DefectChanged or any other exception)**: neither right nor today's wrong behaviour
  (a 404 instead of the 500, a page that broke, a request that hung): the component changed in
  a way nobody has judged yet, and that must not pass as the known defect.

The mark becomes ``xfail(strict=True, raises=AssertionError)``; this plugin also turns an
``AssertionError`` raised before ``check`` saw today's behaviour (a setup step that failed) into
a failure, so an xfail always means the pin held.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

MARK = "known_defect"
_PINNED = pytest.StashKey[bool]()


class DefectChanged(Exception):
    """Neither the right behaviour nor today's known wrong one: the defect changed (not an AssertionError)."""


class KnownDefect:
    """The ``known_defect`` fixture: ``check(right, today)`` for one test."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def check(self, right: Callable[[], object], today: Callable[[], object]) -> None:
        """Assert the right behaviour; when it fails, assert it failed the known way.

        ``right`` and ``today`` are callables whose plain ``assert``s (or Playwright ``expect``)
        state the behaviour. ``right`` passing returns (the test goes on, and strict XPASS makes
        it red). ``right`` failing with an AssertionError runs ``today``: if today's wrong
        behaviour holds, the AssertionError of ``right`` is re-raised (the known defect, xfailed);
        if it does not, DefectChanged is raised with both messages. Any other exception from
        ``right`` (a timeout, a broken connection) propagates and fails the test.
        """
        try:
            _asserts(right)
            return
        except AssertionError as wrong:
            try:
                _asserts(today)
            except AssertionError as changed:
                raise DefectChanged(
                    f"the known defect changed: the right behaviour fails ({_first_line(wrong)}), "
                    f"but not as pinned ({_first_line(changed)})"
                ) from changed
            self._item.stash[_PINNED] = True
            raise


def _asserts(behaviour: Callable[[], object]) -> None:
    # A lambda that returns False instead of asserting would silently count as "holds".
    if behaviour() is not None:
        raise TypeError(f"{behaviour!r} must assert, not return a value")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARK}(what): a known defect of the software under test, as xfail(strict=True, raises=AssertionError); "
        "the test must pin today's wrong behaviour with the known_defect fixture",
    )


def pytest_itemcollected(item: pytest.Item) -> None:
    mark = item.get_closest_marker(MARK)
    if mark is not None:
        item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=mark.args[0]))


@pytest.fixture
def known_defect(request: pytest.FixtureRequest) -> KnownDefect:
    """Checks a known defect's right behaviour against today's pinned wrong one (see ``KnownDefect.check``)."""
    if request.node.get_closest_marker(MARK) is None:
        pytest.fail(f"{request.node.nodeid}: the known_defect fixture needs the known_defect mark", pytrace=False)
    return KnownDefect(request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    xfailed = report.when == "call" and report.skipped and hasattr(report, "wasxfail")
    if xfailed and item.get_closest_marker(MARK) is not None and not item.stash.get(_PINNED, False):
        report.outcome = "failed"
        report.longrepr = (f"an AssertionError before known_defect.check saw today's wrong behaviour, "
                           f"so it is not the known defect:\n{call.excinfo.getrepr() if call.excinfo else ''}")
        del report.wasxfail
    return report
