"""ScenarioUser: what a load user class must provide for a scenario to drive it.

A scenario names user classes under ``user_classes``; the plugin gives each named class its
weight and wait time, then calls :meth:`ScenarioUser.configure` with the class's own entry so
the class takes its host and whatever else it reads from the scenario, and records
:meth:`ScenarioUser.target_url` in the report. Any class in the locustfile folder that derives
from ScenarioUser can be named in a scenario: the folder is the registry, not a list in code
(:mod:`hive_resilience.loadrun.user_discovery` reads it). Importing this module registers the
suite's Locust plugin, so a locustfile needs nothing else.
"""

from __future__ import annotations

from argparse import Namespace

from locust import User

from hive_resilience.loadrun import locust_plugin  # noqa: F401  (a ScenarioUser brings the suite's Locust listeners)
from hive_resilience.loadrun.scenario import Scenario, UserClassConfig


class ScenarioUser(User):
    """A Locust user a scenario can select and configure. Derive from it next to a Locust client
    class, e.g. ``class MyUser(FastHttpUser, ScenarioUser)``, and set ``host`` to a default."""

    abstract = True

    @classmethod
    def configure(cls, config: UserClassConfig, scenario: Scenario, options: Namespace) -> None:
        """Take the scenario's settings before users spawn. By default the host: Locust's
        ``--host``, else the scenario's ``host`` for this class, else the class's own default."""
        cls.host = (options.host or config.host or cls.host or "").rstrip("/")

    @classmethod
    def target_url(cls) -> str:
        """Where this class sends its load, as the report names it."""
        return cls.host or ""
