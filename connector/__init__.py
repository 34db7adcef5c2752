"""ocop-sync's engine: settings, store, catalog, reconcile loop, daemon, reports, CLI."""

__version__ = "0.1.0"
