"""The example GitHub Actions workflow is valid to actionlint and runs only commands and paths that exist.

Users copy examples/github-actions/hive-resilience.yml as it is; a typo in an expression, a
step id or a subcommand would show only on their first pull request. actionlint is the real
binary the `test` extra installs next to the interpreter; the command and path checks are the
docs' own (tests/test_docs.py), applied to the workflow's shell steps.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_docs import REPO_PATH, command_problems, hive_resilience_commands, subcommands

from hive_resilience.cli import build_parser
from hive_resilience.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / "examples" / "github-actions" / "hive-resilience.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
EXPERIMENT_LOOP = re.compile(r"for experiment in (chaos/experiments/\"\$SUITE\"/\*\.yaml)")


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on ``path``; shellcheck and pyflakes off, so the verdict does not depend on what else is installed."""
    return subprocess.run([str(ACTIONLINT), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def run_lines(workflow_text: str) -> list[str]:
    """Every line of every step's shell script."""
    jobs = yaml.safe_load(workflow_text)["jobs"]
    return [line for job in jobs.values() for step in job["steps"] for line in step.get("run", "").splitlines()]


def command_problems_in(workflow_text: str) -> list[str]:
    parsers = subcommands(build_parser())
    return [problem for words in hive_resilience_commands(run_lines(workflow_text))
            for problem in command_problems(words, parsers)]


def test_actionlint_is_installed_with_the_test_extra():
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} missing: install the test extra (bash scripts/setup --extras all)"


def test_the_workflow_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize(("good", "broken", "complaint"), [
    ("steps.run.outputs.dir", "steps.rnu.outputs.dir", 'property "rnu" is not defined'),
    ("    runs-on: ubuntu-24.04\n    timeout-minutes: 30\n", "    timeout-minutes: 30\n", '"runs-on" section is missing'),
    ("continue-on-error: true", "continue-on-eror: true", 'unexpected key "continue-on-eror"'),
])
def test_actionlint_rejects_a_broken_copy(tmp_path, good, broken, complaint):
    text = WORKFLOW.read_text()
    assert good in text
    copy = tmp_path / "hive-resilience.yml"
    copy.write_text(text.replace(good, broken, 1))
    result = actionlint(copy)
    assert result.returncode == 1 and complaint in result.stdout


def test_every_hive_resilience_command_in_the_workflow_is_a_real_subcommand_with_real_flags():
    text = WORKFLOW.read_text()
    used = {words[0] for words in hive_resilience_commands(run_lines(text))}
    assert used == {"compare", "report", "cleanup"}
    assert command_problems_in(text) == []
    assert command_problems_in(text.replace("hive-resilience compare", "hive-resilience comprae"))


def test_every_repository_path_in_the_workflow_exists():
    paths = REPO_PATH.findall(WORKFLOW.read_text())
    assert "scripts/smoke" in paths
    assert [path for path in paths if not (REPO_ROOT / path).exists()] == []


def test_each_chaos_suite_of_the_matrix_has_experiments_to_run():
    text = WORKFLOW.read_text()
    matrix = yaml.safe_load(text)["jobs"]["chaos"]["strategy"]["matrix"]["suite"]
    suites = set(re.findall(r'"(\w+)"', matrix))
    (loop,) = EXPERIMENT_LOOP.findall(text)
    assert suites == {"local", "k8s"}
    assert all(list(REPO_ROOT.glob(loop.replace('"$SUITE"', suite))) for suite in suites)
