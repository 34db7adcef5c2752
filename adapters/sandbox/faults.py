"""Fault injection for the simulators: which failure, if any, a request meets.

A `FaultSpec` holds rates (0..1) per fault and is parsed from a short text spec such as
``"error=0.2,throttle=0.1,reset=0.05,timeout=0.1,latency=50ms,seed=7"`` so that the CLI,
settings and the control endpoint share one format. A seeded RNG makes runs reproducible.
"""

from __future__ import annotations

import random
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SimulatedReset(Exception):
    """Raised inside a sandbox handler to drop the connection (a reset or a lost response)."""


class Fault(StrEnum):
    """A failure a request can meet before it reaches the marketplace logic."""

    NONE = "none"
    OUTAGE = "outage"  # every call fails with 503 until switched off
    ERROR = "error"  # a 5xx (or the marketplace's in-band equivalent)
    THROTTLE = "throttle"  # the marketplace's throttle response
    TIMEOUT = "timeout"  # the server hangs past any sane client timeout
    RESET = "reset"  # the connection drops before the request is handled
    MALFORMED = "malformed"  # the request is handled but the reply body misses a required field


RATE_FIELDS = {
    "error": "error_rate",
    "throttle": "throttle_rate",
    "timeout": "timeout_rate",
    "reset": "reset_rate",
    "partial": "partial_batch_rate",
    "lost": "lost_response_rate",
    "not_applied": "not_applied_rate",
    "drift": "page_drift_rate",
    "malformed": "malformed_rate",
}


class FaultSpec(BaseModel):
    """Rates of each injected fault; all zero means a well-behaved marketplace."""

    model_config = ConfigDict(validate_assignment=True)

    error_rate: float = Field(default=0.0, ge=0, le=1)
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    partial_batch_rate: float = Field(default=0.0, ge=0, le=1, description="per item of a batch")
    lost_response_rate: float = Field(default=0.0, ge=0, le=1, description="write committed, reply lost")
    not_applied_rate: float = Field(default=0.0, ge=0, le=1, description="write acknowledged, not applied")
    page_drift_rate: float = Field(default=0.0, ge=0, le=1, description="data changes between pages")
    malformed_rate: float = Field(default=0.0, ge=0, le=1, description="reply misses a required field")
    latency_ms: int = Field(default=0, ge=0)
    timeout_hang_s: float = Field(default=60.0, gt=0, description="how long a TIMEOUT fault hangs")
    retry_after_s: float = Field(default=1.0, ge=0, description="throttle back-off the sandbox asks for")
    retry_after_http_date: bool = Field(default=False, description="send Retry-After as an HTTP-date")
    outage: bool = False
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``"error=0.3,latency=50ms,seed=1"``; unknown keys raise ValueError naming them."""
        values: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, raw = part.partition("=")
            key = key.strip()
            if key == "latency":
                values["latency_ms"] = int(raw.strip().removesuffix("ms"))
            elif key in RATE_FIELDS:
                values[RATE_FIELDS[key]] = float(raw)
            elif key in ("seed", "outage", "retry_after_s", "timeout_hang_s", "retry_after_http_date"):
                values[key] = raw.strip()
            else:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join([*RATE_FIELDS, 'latency', 'seed'])}")
        return cls.model_validate(values)


class FaultInjector:
    """Draws faults for requests from a spec with a seeded random generator."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self.spec = spec or FaultSpec()
        self.rng = random.Random(self.spec.seed)

    def set_spec(self, spec: FaultSpec) -> None:
        """Replace the spec (and reseed) at run time, e.g. from the control endpoint."""
        self.spec = spec
        self.rng = random.Random(spec.seed)

    def chance(self, rate: float) -> bool:
        """True with probability `rate`."""
        return rate > 0 and self.rng.random() < rate

    def draw(self) -> Fault:
        """The fault the next request meets, if any."""
        spec = self.spec
        if spec.outage:
            return Fault.OUTAGE
        for fault, rate in (
            (Fault.THROTTLE, spec.throttle_rate),
            (Fault.ERROR, spec.error_rate),
            (Fault.RESET, spec.reset_rate),
            (Fault.TIMEOUT, spec.timeout_rate),
            (Fault.MALFORMED, spec.malformed_rate),
        ):
            if self.chance(rate):
                return fault
        return Fault.NONE
