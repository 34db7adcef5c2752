"""Reports as queries over the store and the catalog: drift, run history, shops, producer listing status.

Every function here reads; none writes. They take an open session, the settings and the time
"now" so they are deterministic in tests. Each report lives in its own module (`drift`, `runs`,
`shops`, `producer`; shop health in `health`); this module is the one place callers import them from.
"""

from __future__ import annotations

from connector.reports.common import TOKEN_WARNING_DAYS, UnknownProducerError, db_time, local_today
from connector.reports.drift import DEFAULT_DRIFT_PERIOD, drift_report, drift_timeline
from connector.reports.health import PENDING_ACTION_STATES, ShopView, shop_views
from connector.reports.producer import producer_exists, producer_ids, producer_report
from connector.reports.runs import run_history
from connector.reports.shops import shops_report

__all__ = [
    "DEFAULT_DRIFT_PERIOD",
    "PENDING_ACTION_STATES",
    "TOKEN_WARNING_DAYS",
    "ShopView",
    "UnknownProducerError",
    "db_time",
    "drift_report",
    "drift_timeline",
    "local_today",
    "producer_exists",
    "producer_ids",
    "producer_report",
    "run_history",
    "shop_views",
    "shops_report",
]
