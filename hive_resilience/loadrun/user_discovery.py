"""Which scenario user classes a locustfile folder defines, found without importing Locust.

A scenario may name any user class that derives from ``ScenarioUser``
(:mod:`hive_resilience.loadrun.users`) in the locustfiles Locust loads; the folder is the
registry. The scenario loader checks the names when it loads a file, in processes that must
not import Locust (importing it monkey-patches the standard library with gevent), so the
classes are found by reading the files' syntax trees, the way Locust finds files in a folder.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from hive_resilience.paths import LOAD_DIR

"""The suite's locustfile folder, given to ``locust -f``."""
BASE_CLASS_NAME = "ScenarioUser"


def locustfile_paths(locations: Iterable[Path]) -> list[Path]:
    """The files Locust loads for ``-f`` with these locations: a ``.py`` file as given, and every
    ``.py`` file in a folder's tree whose name does not start with an underscore."""
    paths: list[Path] = []
    for location in locations:
        if location.is_dir():
            paths += sorted(path for path in location.rglob("*.py") if not path.name.startswith("_"))
        elif location.suffix == ".py":
            paths.append(location)
    return paths


def discover_user_classes(locations: Iterable[Path] = (LOAD_DIR,)) -> dict[str, Path]:
    """Every concrete class deriving from ScenarioUser (directly or through other classes in the
    same files), by name, with the file that defines it. Files that do not parse are left to
    Locust, which reports them when it loads them."""
    bases: dict[str, set[str]] = {}
    abstract: set[str] = set()
    defined_in: dict[str, Path] = {}
    for path in locustfile_paths(locations):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {_base_name(base) for base in node.bases}
                defined_in[node.name] = path
                if _declares_abstract(node):
                    abstract.add(node.name)
    derived = {BASE_CLASS_NAME}
    grown = True
    while grown:
        before = len(derived)
        derived |= {name for name, names in bases.items() if names & derived}
        grown = len(derived) > before
    return {name: defined_in[name] for name in sorted(derived - abstract - {BASE_CLASS_NAME})}


def _base_name(base: ast.expr) -> str:
    """``ScenarioUser`` for ``ScenarioUser`` and for ``users.ScenarioUser``."""
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def _declares_abstract(node: ast.ClassDef) -> bool:
    """Whether the class body says ``abstract = True``, which makes Locust skip the class."""
    for statement in node.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else (
            [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        value = getattr(statement, "value", None)
        if any(isinstance(target, ast.Name) and target.id == "abstract" for target in targets) \
                and isinstance(value, ast.Constant) and value.value is True:
            return True
    return False
