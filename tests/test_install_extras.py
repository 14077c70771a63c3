"""Each module imports only what its pyproject.toml extra installs; the load generator needs the base alone.

Checked statically with ``ast`` against the installed distributions' metadata (this venv has
every extra), so it is fast and needs no second venv: a third-party import is allowed where
the distribution that provides it is in the dependency closure of the module's extras.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from hive_resilience.paths import REPO_ROOT

EXTRAS_OF_MODULE = {
    "hive_resilience/chaos/k8s.py": ("chaos", "kubernetes"),
    "hive_resilience/chaos": ("chaos",),
    "hive_resilience/target/tools_server.py": ("embedded",),
    "hive_resilience/infra/provisioning.py": ("test",),
}
"""The modules that need more than the base, by file or folder (the most specific entry wins)."""
LOAD_GENERATOR_ROOTS = ("load", "hive_resilience/loadrun", "hive_resilience/cli.py")
"""What the Locust image and a `--host` run import: the base install must be enough for all of it."""
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> set[str]:
    """The normalized names of every distribution these requirements install, extras followed."""
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = normalized(requirement.name)
        if name == normalized(PROJECT["name"]):
            pending += [Requirement(text) for extra in requirement.extras
                        for text in PROJECT["optional-dependencies"][extra]]
            continue
        if name in found and not requirement.extras:
            continue
        found.add(name)
        for text in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            wanted = {""} | requirement.extras
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra}) for extra in wanted):
                pending.append(dependency)
    return found


@functools.cache
def importable(extras: tuple[str, ...]) -> set[str]:
    """Top-level import names the base plus these extras make available."""
    requirements = PROJECT["dependencies"] + [text for extra in extras for text in PROJECT["optional-dependencies"][extra]]
    distributions = closure(requirements)
    return {module for module, providers in providers_of_modules().items()
            if any(normalized(provider) in distributions for provider in providers)}


@functools.cache
def providers_of_modules() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def extras_of(path: Path) -> tuple[str, ...]:
    relative = path.relative_to(REPO_ROOT).as_posix()
    matches = [key for key in EXTRAS_OF_MODULE if relative == key or relative.startswith(key + "/")]
    return EXTRAS_OF_MODULE[max(matches, key=len)] if matches else ()


def imported_modules(path: Path) -> set[str]:
    """Every absolute import in the file, at any depth (a lazy import still runs when called)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def third_party(modules: set[str]) -> set[str]:
    tops = {module.split(".")[0] for module in modules}
    return {top for top in tops if top not in sys.stdlib_module_names and top not in ("__future__", "hive_resilience")}


def suite_files() -> list[Path]:
    return sorted([*(REPO_ROOT / "hive_resilience").rglob("*.py"), *(REPO_ROOT / "load").glob("*.py")])


@pytest.mark.parametrize("path", suite_files(), ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_every_third_party_import_comes_with_the_module_s_extras(path):
    missing = third_party(imported_modules(path)) - importable(extras_of(path))
    assert not missing, f"{path.name} imports {sorted(missing)}: not installed by its extras {extras_of(path) or 'base'}"


def module_file(module: str) -> Path | None:
    parts = module.split(".")
    for candidate in (REPO_ROOT.joinpath(*parts).with_suffix(".py"), REPO_ROOT.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def reachable_files(roots: tuple[str, ...]) -> set[Path]:
    """The suite's files that the roots import, directly or through each other."""
    pending = [path for root in roots for path in ([REPO_ROOT / root] if root.endswith(".py")
                                                     else (REPO_ROOT / root).glob("*.py"))]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            # `from hive_resilience.clients import sse` names a module in its imported names too.
            candidates = [module] + [f"{module}.{alias.name}" for node in ast.walk(ast.parse(path.read_text()))
                                     if isinstance(node, ast.ImportFrom) and node.module == module
                                     for alias in node.names]
            pending += [found for found in map(module_file, candidates)
                        if found and found.is_relative_to(REPO_ROOT / "hive_resilience")]
    return seen


def test_the_load_generator_needs_only_the_base_install():
    files = reachable_files(LOAD_GENERATOR_ROOTS)
    assert REPO_ROOT / "hive_resilience/loadrun/locust_plugin.py" in files
    needing_extras = {path.relative_to(REPO_ROOT).as_posix(): extras_of(path) for path in files if extras_of(path)}
    assert not needing_extras


def test_the_closure_follows_extras_and_stops_at_the_base():
    base = closure(PROJECT["dependencies"])
    assert {"locust", "gevent", "hdrhistogram", "pydantic", "psutil", "pyyaml", "aiohttp"} <= base
    assert not {"aden-hive", "aden-tools", "chaostoolkit", "chaostoolkit-lib", "mcp", "kubernetes"} & base
    assert {"aden-hive", "aden-tools", "mcp"} <= closure(["hive-resilience[embedded]"])
    assert {"chaostoolkit-kubernetes", "chaostoolkit-lib", "kubernetes"} <= closure(["hive-resilience[kubernetes]"])


def test_the_system_under_test_is_pinned_in_the_embedded_extra_only():
    pins = [text for text in PROJECT["optional-dependencies"]["embedded"] if "==" in text]
    assert {Requirement(text).name for text in pins} == {"aden-hive", "aden-tools"}
    elsewhere = [text for key, texts in [("dependencies", PROJECT["dependencies"]),
                                         *PROJECT["optional-dependencies"].items()]
                 if key != "embedded" for text in texts if normalized(Requirement(text).name).startswith("aden-")]
    assert not elsewhere
