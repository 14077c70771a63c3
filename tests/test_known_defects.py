"""The known-defect plugin: a strict xfail counts only when today's pinned wrong behaviour was seen."""

from __future__ import annotations

import pytest

from hive_resilience.paths import REPO_ROOT

pytest_plugins = ["pytester"]

DEFECT_TEST = """
import pytest

@pytest.mark.known_defect("answers 500 instead of a 4xx")
def test_bad_input_gets_a_4xx(known_defect):
    status = {status}

    def right():
        assert 400 <= status < 500, status

    def today():
        assert status == 500, status

    {before}
    known_defect.check(right=right, today=today)
"""


@pytest.fixture(autouse=True)
def plugin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner pytest loads this plugin alone (in a child process: Playwright's plugin does not nest)."""
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run_inner(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "known_defects", "-p", "no:cacheprovider", timeout=60)


def run(pytester: pytest.Pytester, status: object, before: str = "pass") -> pytest.RunResult:
    pytester.makepyfile(DEFECT_TEST.format(status=status, before=before))
    return run_inner(pytester)


def test_the_pinned_wrong_behaviour_is_the_known_defect(pytester: pytest.Pytester) -> None:
    run(pytester, 500).assert_outcomes(xfailed=1)


def test_the_right_behaviour_is_an_xpass_that_fails(pytester: pytest.Pytester) -> None:
    result = run(pytester, 400)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*answers 500 instead of a 4xx*"])


def test_a_different_wrong_behaviour_fails_as_a_changed_defect(pytester: pytest.Pytester) -> None:
    result = run(pytester, 502)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DefectChanged: the known defect changed: the right behaviour fails (502), but not as pinned (502*"])


def test_an_exception_other_than_an_assertion_fails(pytester: pytest.Pytester) -> None:
    result = run(pytester, 500, before="raise TimeoutError('no answer within 15 s')")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TimeoutError: no answer within 15 s*"])


def test_an_assertion_before_the_check_is_not_the_known_defect(pytester: pytest.Pytester) -> None:
    result = run(pytester, 500, before="assert False, 'the page object broke'")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*before known_defect.check saw today's wrong behaviour*", "*the page object broke*"])


def test_a_behaviour_that_returns_instead_of_asserting_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.known_defect("answers 500")
        def test_it(known_defect):
            known_defect.check(right=lambda: False, today=lambda: None)
    """)
    result = run_inner(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*must assert, not return a value*"])
