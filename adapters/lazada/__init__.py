"""The Lazada Open Platform adapter and its simulator (see README.md in this package)."""

from adapters.lazada.adapter import LazadaAdapter

__all__ = ["LazadaAdapter"]
