"""The long-running service: scheduler wiring, poll cycles, workers and leases, health, metrics."""
