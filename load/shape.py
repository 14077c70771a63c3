"""Plays the selected scenario's plan: users and spawn rate over time, or one arrivals player per process; then stop."""

from locust import LoadTestShape

from hive_resilience.loadrun import locust_plugin  # noqa: F401  (registers the suite's Locust listeners)
from hive_resilience.loadrun.scenario import Stage, stage_at


class ScenarioShape(LoadTestShape):
    """Stages come from ``--scenario``; the plugin sets them when Locust initialises."""

    stages: tuple[Stage, ...] = ()
    arrivals_s: float | None = None
    """An arrivals plan's length: one ArrivalUser per Locust process (each worker, or the only one) until then."""

    def tick(self) -> tuple[int, float] | None:
        if self.arrivals_s is not None:
            processes = self.runner.worker_count if self.runner else 1
            return (processes, processes) if self.get_run_time() < self.arrivals_s else None
        stage = stage_at(self.stages, self.get_run_time())
        return None if stage is None else (stage.users, stage.spawn_rate)
