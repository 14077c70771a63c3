"""The open model in Locust: one :class:`ArrivalUser` per Locust process plays its share of the schedule.

The scenario's user classes stay as they are; the ArrivalUser keeps a pool of their instances
and runs each arrival as one iteration of its class's task (chosen by the class's task
weights, as Locust would), in a greenlet of its own, so a slow answer never delays the next
arrival. Each instance reports through a request hook of its own that adds how late its
arrival started to every request and journey of the iteration: the request names stay the
same, so SLOs apply unchanged, and what they judge is the response time from the arrival's
intended start. The service time (from the actual start) is handed to ``on_service``.

Each arrival due is also a ``JOURNEY arrivals`` entry (and ``arrivals [<class>]``): its time
how late it started, failed when it was dropped at the ceiling; ``dropped_ratio`` gates it.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from typing import ClassVar

import gevent
from gevent.event import AsyncResult
from gevent.pool import Pool
from locust import User, constant, task
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask, StopUser
from locust.user.users import (
    LOCUST_STATE_RUNNING,
    LOCUST_STATE_STOPPING,
    LOCUST_STATE_WAITING,
)

from hive_resilience.loadrun.arrivals import Arrival, Dispatcher, schedule
from hive_resilience.loadrun.latency import JOURNEY_REQUEST_TYPE
from hive_resilience.loadrun.metrics import arrivals_request
from hive_resilience.loadrun.scenario import Arrivals, ScenarioError

SHARE_MESSAGE = "hive_resilience_arrival_share"
"""Master to each worker at test start: ``{"index", "count", "started_at"}``, its part of the schedule."""
SHARE_WAIT_S = 30.0
"""How long a worker's ArrivalUser waits for its share before it fails the run."""
IDLE_S = 60.0
"""An ArrivalUser with nothing left to start waits in steps of this, until Locust stops it."""
STOP_KILL_TIMEOUT_S = 2.0
"""After ``--stop-timeout``, how long killing the arrivals still in flight may take."""

ServiceListener = Callable[[str, str, float, bool], None]
"""``(request_type, name, service_ms, failed)`` of every request an arrival made."""


class ArrivalDropped(Exception):
    """The arrival was due while ``max_in_flight`` arrivals ran, so it never started."""


class LateRequestHook:
    """Stands in for Locust's ``request`` event for one pooled user instance: adds its current
    arrival's lateness to the response time before Locust's listeners hear it."""

    def __init__(self, request_event, on_service: ServiceListener) -> None:
        self.request_event = request_event
        self.on_service = on_service
        self.late_ms = 0.0

    def fire(self, **kwargs) -> None:
        service_ms = kwargs.get("response_time") or 0.0
        self.on_service(kwargs["request_type"], kwargs["name"], service_ms, kwargs.get("exception") is not None)
        self.request_event.fire(**{**kwargs, "response_time": service_ms + self.late_ms})


class ArrivalUser(User):
    """Plays this process's share of the arrivals plan; the plugin configures it (:meth:`prepare`)."""

    wait_time = constant(0)
    plan: Arrivals | None = None
    classes: ClassVar[dict[str, type[User]]] = {}
    on_service: ServiceListener = staticmethod(lambda *_: None)
    share: AsyncResult = AsyncResult()
    """Set to ``(arrivals.Share, started_at)``: by the plugin at test start, or by the master's message on a worker."""
    player: ArrivalUser | None = None
    """The one instance in this process that plays its share; any other waits."""

    @classmethod
    def prepare(cls, plan: Arrivals, classes: list[type[User]], on_service: ServiceListener) -> None:
        """Take the plan and the scenario's (configured) user classes; ScenarioError when one cannot run open."""
        for user_class in classes:
            if not user_class.tasks or not all(callable(item) and not isinstance(item, type) for item in user_class.tasks):
                raise ScenarioError(f"arrivals run one task of a user class at a time; {user_class.__name__} "
                                    "needs @task methods (not TaskSets)")
        cls.plan, cls.classes, cls.on_service = plan, {c.__name__: c for c in classes}, staticmethod(on_service)
        cls.share = AsyncResult()

    def on_start(self) -> None:
        self.pool = Pool()
        self.idle: dict[str, list[tuple[User, LateRequestHook]]] = {name: [] for name in self.classes}
        self.rng = random.Random()

    @task
    def play(self) -> None:
        assert self.plan is not None
        if ArrivalUser.player not in (None, self):  # Locust gave this process a second one: the share is played
            while True:
                self._sleep(IDLE_S)
        ArrivalUser.player = self
        share, started_at = self.share.get(timeout=SHARE_WAIT_S)
        dispatcher = Dispatcher(
            ceiling=share.ceiling(self.plan.max_in_flight), clock=lambda: time.time() - started_at,
            sleep=self._sleep, launch=self._launch, on_arrival=self._record_arrival)
        weights = {name: user_class.weight for name, user_class in self.classes.items()}
        dispatcher.play(schedule(self.plan, weights), share)
        while True:  # the plan's last arrival is due; the shape ends the run when the plan does
            self._sleep(IDLE_S)

    def on_stop(self) -> None:
        """Let the arrivals in flight finish as Locust lets users finish (``--stop-timeout``), then close the pool's users."""
        if ArrivalUser.player is self:
            ArrivalUser.player = None
        self.pool.join(timeout=self.environment.stop_timeout or 0)
        self.pool.kill(block=True, timeout=STOP_KILL_TIMEOUT_S)
        for instances in self.idle.values():
            for instance, hook in instances:
                hook.late_ms = 0.0
                instance.on_stop()

    def _sleep(self, seconds: float) -> None:
        """Wait as a Locust user waits between tasks: a stop in the meantime ends it at once (and runs on_stop),
        so a worker told to quit sends its last report while its master still listens."""
        if self._state == LOCUST_STATE_STOPPING:
            raise StopUser()
        self._state = LOCUST_STATE_WAITING
        gevent.sleep(seconds)
        self._state = LOCUST_STATE_RUNNING

    def _record_arrival(self, arrival: Arrival, late_s: float, dropped: bool) -> None:
        exception = ArrivalDropped(f"{arrival.user_class} arrival due while max_in_flight ran") if dropped else None
        for name in (arrivals_request(), arrivals_request(arrival.user_class)):
            self.environment.events.request.fire(request_type=JOURNEY_REQUEST_TYPE, name=name,
                                                 response_time=late_s * 1000, response_length=0,
                                                 exception=exception, context={})

    def _launch(self, arrival: Arrival, late_s: float, done: Callable[[], None]) -> None:
        self.pool.spawn(self._iterate, arrival.user_class, late_s, done)

    def _iterate(self, class_name: str, late_s: float, done: Callable[[], None]) -> None:
        """One iteration of the class's task on an idle instance (a new one, started, if none is idle)."""
        instance = None
        try:
            instance, hook = self.idle[class_name].pop() if self.idle[class_name] else self._new_instance(class_name)
            hook.late_ms = late_s * 1000
            self.rng.choice(instance.tasks)(instance)
        except (RescheduleTask, InterruptTaskSet, StopUser):
            pass
        except Exception as error:  # noqa: BLE001 -- Locust's own rule: a task error is logged, the load goes on
            self.environment.events.user_error.fire(user_instance=instance or self, exception=error,
                                                    tb=error.__traceback__)
        finally:
            if instance is not None:
                self.idle[class_name].append((instance, hook))
            done()

    def _new_instance(self, class_name: str) -> tuple[User, LateRequestHook]:
        hook = LateRequestHook(self.environment.events.request, self.on_service)
        environment: Environment = copy.copy(self.environment)
        environment.events = copy.copy(self.environment.events)
        environment.events.request = hook
        instance = self.classes[class_name](environment)
        instance.on_start()
        return instance, hook
