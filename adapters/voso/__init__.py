"""Voso (voso.vn, Viettel Post) adapter over an assumed partner API, and its simulator.

Voso publishes no seller API; `README.md` here is the contract we assume until partner
access is granted, so the real one can replace it without touching the engine.
"""

from adapters.voso.adapter import VosoAdapter

__all__ = ["VosoAdapter"]
