"""What the relay tells an operator at GET /metrics (Prometheus text format).

Aggregates only: requests by endpoint (the route's template, never the path a
request used, which may hold a school or a case) and status; write latency;
group-commit batch sizes; notices waiting; the proof-of-work difficulty as the
highest number of tries asked of any school and how many schools are busy;
refusals at a school's storage budget; escalation alerts sent, failed and waiting;
and the garbage collector's passes by generation (see relay.server.tune_collector).
No label names a school (that would publish each school's volume), a case, an
address or anything a student sent.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "quietdoor_relay_requests",
            "Requests answered, by endpoint (route template) and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.write_seconds = Histogram(
            "quietdoor_relay_write_seconds",
            "Time from a write's submission to its durable commit (or refusal).",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "quietdoor_relay_commit_batch_size",
            "Writes committed together by the group commit.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.pending_notices = Gauge(
            "quietdoor_relay_pending_notices",
            "Notices to staff waiting to be sent (all schools).",
            registry=self.registry,
        )
        self.difficulty = Gauge(
            "quietdoor_relay_proof_of_work_max_tries",
            "The most tries a challenge asks for now, over all schools (the normal number "
            "when none is busy).",
            registry=self.registry,
        )
        self.busy_schools = Gauge(
            "quietdoor_relay_busy_schools",
            "Schools whose volume today is above normal, so their challenges are harder.",
            registry=self.registry,
        )
        self.budget_refusals = Counter(
            "quietdoor_relay_budget_refusals",
            "New cases and students' updates refused because their school's stored bytes "
            "reached [relay] school_budget_bytes (all schools together).",
            registry=self.registry,
        )
        self.alerts_sent = Counter(
            "quietdoor_relay_alerts_sent",
            "Escalation alerts delivered (all schools and channels together).",
            registry=self.registry,
        )
        self.alerts_failed = Counter(
            "quietdoor_relay_alerts_failed",
            "Escalation alert deliveries that failed and will be tried again or were given up.",
            registry=self.registry,
        )
        self.alerts_waiting = Gauge(
            "quietdoor_relay_alerts_waiting",
            "Escalation alerts waiting to be delivered (all schools).",
            registry=self.registry,
        )
        GCCollector(registry=self.registry)

    def text(self) -> bytes:
        return generate_latest(self.registry)
