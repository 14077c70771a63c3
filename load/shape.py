"""Plays the selected scenario's stages: users and spawn rate over time, then stop."""

from locust import LoadTestShape

from hive_resilience.loadrun import locust_plugin  # noqa: F401  (registers the suite's Locust listeners)
from hive_resilience.loadrun.scenario import Stage, stage_at


class ScenarioShape(LoadTestShape):
    """Stages come from ``--scenario``; the plugin sets them when Locust initialises."""

    stages: tuple[Stage, ...] = ()

    def tick(self) -> tuple[int, float] | None:
        stage = stage_at(self.stages, self.get_run_time())
        return None if stage is None else (stage.users, stage.spawn_rate)
