"""Scenario user classes are found in the locustfile folder by their base class, not a list."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hive_resilience.loadrun.scenario import ScenarioError, load_scenario
from hive_resilience.loadrun.user_discovery import discover_user_classes
from hive_resilience.paths import LOAD_DIR

MINIMAL = "users: 1\nspawn_rate: 1\nduration: 5s\n"


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_the_shipped_users_are_found_in_load():
    assert set(discover_user_classes()) == {"DashboardUser", "HiveApiUser", "McpToolsUser"}
    assert discover_user_classes()["HiveApiUser"] == LOAD_DIR / "hive_api.py"


def test_a_class_in_a_new_file_is_found_by_its_base(tmp_path):
    path = write(tmp_path, "browser.py", """
        from hive_resilience.loadrun import users
        from hive_resilience.loadrun.users import ScenarioUser

        class BrowserUser(ScenarioUser):
            pass

        class QualifiedUser(users.ScenarioUser):
            pass
    """)
    assert discover_user_classes([tmp_path]) == {"BrowserUser": path, "QualifiedUser": path}


def test_derivation_through_an_abstract_class_in_another_file_counts(tmp_path):
    write(tmp_path, "common.py", """
        class HiveBase(FastHttpUser, ScenarioUser):
            abstract = True
    """)
    write(tmp_path, "sub/admin.py", "class AdminUser(HiveBase):\n    pass\n")
    assert set(discover_user_classes([tmp_path])) == {"AdminUser"}


def test_plain_locust_users_private_files_and_broken_files_are_not_scenario_users(tmp_path):
    write(tmp_path, "plain.py", "class PlainUser(HttpUser):\n    pass\n")
    write(tmp_path, "_private.py", "class HiddenUser(ScenarioUser):\n    pass\n")
    write(tmp_path, "broken.py", "class BrokenUser(ScenarioUser:\n")
    assert discover_user_classes([tmp_path]) == {}


def test_a_single_locustfile_can_be_given_instead_of_a_folder(tmp_path):
    path = write(tmp_path, "one.py", "class OneUser(ScenarioUser):\n    pass\n")
    write(tmp_path, "other.py", "class OtherUser(ScenarioUser):\n    pass\n")
    assert discover_user_classes([path]) == {"OneUser": path}


def test_a_scenario_may_name_a_class_of_its_locustfile_folder(tmp_path, write_scenario):
    write(tmp_path / "load", "browser.py", "class BrowserUser(ScenarioUser):\n    pass\n")
    scenario_path = write_scenario(MINIMAL + "user_classes:\n  BrowserUser: {weight: 2}\n")
    scenario = load_scenario(str(scenario_path), locustfiles=[tmp_path / "load"])
    assert scenario.user_classes["BrowserUser"].weight == 2


def test_an_unknown_class_names_the_folder_and_the_classes_found_there(tmp_path, write_scenario):
    write(tmp_path / "load", "browser.py", "class BrowserUser(ScenarioUser):\n    pass\n")
    scenario_path = write_scenario(MINIMAL + "user_classes:\n  HiveApiUser: {weight: 1}\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(str(scenario_path), locustfiles=[tmp_path / "load"])
    message = str(error.value)
    assert str(scenario_path) in message and "'user_classes'" in message and "'HiveApiUser'" in message
    assert f"ScenarioUser classes in {tmp_path / 'load'}: BrowserUser" in message
