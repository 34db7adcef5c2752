"""Machinery shared by the marketplace simulators: state, clock, faults, rate limits, transport.

Each marketplace's `sandbox.py` builds a Starlette app on top of `Sandbox`, reproducing its
own auth, envelopes and error codes; this package only holds what every simulator needs.
"""

from adapters.sandbox.app import Sandbox, SandboxOptions, SellerAccount
from adapters.sandbox.clock import SandboxClock
from adapters.sandbox.faults import Fault, FaultInjector, FaultSpec, SimulatedReset
from adapters.sandbox.store import SandboxListing, SandboxOrder, SandboxStore
from adapters.sandbox.transport import SandboxTransport

__all__ = [
    "Fault",
    "FaultInjector",
    "FaultSpec",
    "Sandbox",
    "SandboxClock",
    "SandboxListing",
    "SandboxOptions",
    "SandboxOrder",
    "SandboxStore",
    "SandboxTransport",
    "SellerAccount",
    "SimulatedReset",
]
