"""The README and docs/ say only what is true of the tree.

The manuals name files, module paths, `hive-resilience` subcommands and flags, and link to
each other; the code moves under them (the package was regrouped once already). These tests
catch a name the docs kept after the code dropped it, and keep the README a door, not the house.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hive_resilience.cli import build_parser
from hive_resilience.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOC_FILES = [
    README,
    *sorted((REPO_ROOT / "docs").glob("*.md")),
    REPO_ROOT / "reports" / "README.md",
    REPO_ROOT / "integration" / "README.md",
]
README_MAX_BYTES = 12 * 1024
"""The two commands, what the main job and the experiments found, and where to read on; the
manuals live in docs/."""
FIRST_COMMANDS = ["bash scripts/smoke", "bash scripts/test"]

FENCE = re.compile(r"^```[^\n]*\n(.*?)^\s*```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# Paths under the folders the repository ships (reports/ is generated, so it is left out).
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:chaos|scenarios|scripts|deploy|integration|e2e|load|tests|benchmarks|hive_resilience|docs)/[\w./-]*)"
)
MODULE = re.compile(r"(?<![\w.])hive_resilience(?:\.\w+)+")
HIVE_RESILIENCE_COMMAND = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=/))hive-resilience\s+(.*)", re.MULTILINE)
LOCUST_ON_LOAD = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=/))locust\s+-f\s+load/(.*)", re.MULTILINE)
COMMAND_END = re.compile(r"\s(?:#|\||&&|;|&(?:\s|$))")
FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


@dataclass(frozen=True)
class Mention:
    """Something a doc names, and where, so a failure points at the line to fix."""

    doc: Path
    text: str

    def __str__(self) -> str:
        return f"{self.doc.relative_to(REPO_ROOT)}: {self.text}"


def prose_and_code(markdown: str) -> tuple[str, list[str]]:
    """Split a page into its prose (code blocks removed) and its code: block lines and inline spans."""
    code = [line for block in FENCE.findall(markdown) for line in block.splitlines()]
    prose = FENCE.sub("", markdown)
    code += [span.replace("\n", " ") for span in INLINE_CODE.findall(prose)]
    return prose, code


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    prose, _ = prose_and_code(markdown)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in HEADING.findall(prose)}


def broken_links(doc: Path) -> list[Mention]:
    """Relative links of a page whose file, or whose heading anchor, does not exist."""
    prose, _ = prose_and_code(doc.read_text())
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto: - not a file of ours
            continue
        path_text, _, anchor = target.partition("#")
        path = (doc.parent / path_text).resolve() if path_text else doc
        if not path.exists():
            broken.append(Mention(doc, f"link to missing {target}"))
        elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path.read_text()):
            broken.append(Mention(doc, f"link to missing heading {target}"))
    return broken


def command_tail(line_rest: str) -> list[str]:
    """The words of a command up to a comment, a pipe or the next command on the line."""
    end = COMMAND_END.search(" " + line_rest)
    words = (line_rest[: end.start()] if end else line_rest).split()
    return [word.strip("[]") for word in words]


def hive_resilience_commands(code: list[str]) -> list[list[str]]:
    """Each `hive-resilience ...` invocation in the code, as words; kubectl's `-n hive-resilience` is a namespace."""
    commands = []
    for snippet in code:
        for match in HIVE_RESILIENCE_COMMAND.finditer(snippet):
            before = snippet[: match.start()].split()
            if before and before[-1] in ("-n", "--namespace"):
                continue
            commands.append(command_tail(match.group(1)))
    return commands


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def command_problems(words: list[str], parsers: dict[str, argparse.ArgumentParser]) -> list[str]:
    """What is wrong with `hive-resilience <words>`: an unknown subcommand, action or flag."""
    if not words:
        return []
    name, *rest = words
    if name not in parsers:
        return [f"unknown subcommand {name!r}; the CLI has {sorted(parsers)}"]
    parser = parsers[name]
    problems = []
    flags = {option for action in parser._actions for option in action.option_strings}
    problems += [f"{name}: unknown flag {flag}" for word in rest for flag in FLAG.findall(word.split("=")[0])
                 if flag not in flags]
    choices = [a.choices for a in parser._actions if not a.option_strings and a.choices]
    positionals = [word for word in rest if not word.startswith("-")]
    if choices and positionals and positionals[0] not in choices[0] and "/" not in positionals[0]:
        problems.append(f"{name}: unknown action {positionals[0]!r}; allowed {sorted(choices[0])}")
    return problems


def locust_options() -> set[str]:
    """Locust's options once `load/` is imported, as `locust -f load/` does.

    In a child process: importing Locust patches the interpreter with gevent.
    """
    script = (
        "import importlib, json, pathlib\n"
        "for module in sorted(pathlib.Path('load').glob('*.py')): importlib.import_module('load.' + module.stem)\n"
        "from locust.argument_parser import get_parser\n"
        "print(json.dumps([s for a in get_parser()._actions for s in a.option_strings]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=REPO_ROOT, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def mentions_failing(pattern: re.Pattern[str], holds: Callable[[str], bool]) -> list[str]:
    """Every match of `pattern` in the docs for which `holds` is false, with its doc."""
    return [str(Mention(doc, text)) for doc in DOC_FILES for text in pattern.findall(doc.read_text())
            if not holds(text)]


def module_exists(dotted: str) -> bool:
    """Whether a dotted module path imports, without importing the module itself."""
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:  # a parent along the path is missing or not a package
        return False


def code_of(doc: Path) -> list[str]:
    return prose_and_code(doc.read_text())[1]


@pytest.fixture(scope="module")
def all_code() -> list[tuple[Path, str]]:
    return [(doc, snippet) for doc in DOC_FILES for snippet in code_of(doc)]


def test_every_doc_file_named_here_exists():
    assert all(doc.exists() for doc in DOC_FILES), [str(doc) for doc in DOC_FILES if not doc.exists()]


def test_the_readme_stays_a_door_under_12_kb():
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes; move manual content into docs/"


def test_the_readme_opens_with_exactly_the_two_commands():
    first_block = FENCE.search(README.read_text()).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == FIRST_COMMANDS


def test_the_readme_links_every_docs_page():
    linked = {target.split("#")[0] for target in LINK.findall(README.read_text())}
    pages = {f"docs/{page.name}" for page in (REPO_ROOT / "docs").glob("*.md")}
    assert pages <= linked, f"docs pages the README does not lead to: {sorted(pages - linked)}"


def test_every_relative_link_points_at_an_existing_file_and_heading():
    broken = [str(mention) for doc in DOC_FILES for mention in broken_links(doc)]
    assert broken == []


def test_every_repository_path_named_exists():
    assert mentions_failing(REPO_PATH, lambda path: (REPO_ROOT / path.rstrip(".")).exists()) == []


def test_every_hive_resilience_module_path_named_exists():
    assert mentions_failing(MODULE, module_exists) == []


def test_every_hive_resilience_command_uses_a_real_subcommand_action_and_flags(all_code):
    parsers = subcommands(build_parser())
    problems = [
        str(Mention(doc, problem))
        for doc, snippet in all_code
        for words in hive_resilience_commands([snippet])
        for problem in command_problems(words, parsers)
    ]
    assert problems == []


def test_every_flag_given_to_locust_on_load_is_a_locust_or_suite_option(all_code):
    options = locust_options()
    unknown = [
        str(Mention(doc, flag))
        for doc, snippet in all_code
        for match in LOCUST_ON_LOAD.finditer(snippet)
        for flag in FLAG.findall(" ".join(command_tail(match.group(1))))
        if flag not in options
    ]
    assert unknown == []


def test_the_checks_catch_a_missing_link_a_missing_heading_and_a_made_up_command(tmp_path):
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[gone](gone.md) [bad anchor](other.md#no-such-heading) [good](other.md#real-heading)\n\n"
        "```bash\n.venv/bin/hive-resilience nosuch --x\nhive-resilience run smoke --no-such-flag  # note\n"
        "hive-resilience target sideways\nkubectl -n hive-resilience get pods\n```\n"
    )
    assert [m.text for m in broken_links(page)] == ["link to missing gone.md",
                                                    "link to missing heading other.md#no-such-heading"]
    parsers = subcommands(build_parser())
    problems = [p for words in hive_resilience_commands(code_of(page)) for p in command_problems(words, parsers)]
    assert len(problems) == 3
    assert problems[0].startswith("unknown subcommand 'nosuch'")
    assert problems[1] == "run: unknown flag --no-such-flag"
    assert problems[2].startswith("target: unknown action 'sideways'")


def test_the_checks_catch_a_missing_path_and_a_missing_module():
    text = "`scripts/nosuch`, chaos/experiments/local/gone.yaml, scenarios/smoke.yaml, hive_resilience.target.gone.x"
    assert [path for path in REPO_PATH.findall(text) if not (REPO_ROOT / path).exists()] == [
        "scripts/nosuch", "chaos/experiments/local/gone.yaml"]
    assert [module for module in MODULE.findall(text) if not module_exists(module)] == ["hive_resilience.target.gone.x"]
