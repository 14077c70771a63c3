"""A load run: scenario model, Locust plugin and process, exact latency, SLO gate, run summary."""
