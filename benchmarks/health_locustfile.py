"""Reference point for benchmarks/mcp_clients.py: the cheapest request Locust can make."""

from locust import FastHttpUser, constant, task


class HealthUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/health")
