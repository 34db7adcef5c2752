"""Tiki Open Platform adapter (Open API v2/v2.1, OAuth2 client credentials) and its simulator.

The sandbox (`adapters.tiki.sandbox.TikiSandbox`) is loaded only when asked for, through
`TikiAdapter.create_sandbox`.
"""

from adapters.tiki.adapter import TikiAdapter

__all__ = ["TikiAdapter"]
