"""The daemon's own HTTP routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Protocol

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector.service.metrics import DaemonMetrics
from connector.store import read_only


class HealthSource(Protocol):
    """What the health routes ask the daemon."""

    engine: Engine
    metrics: DaemonMetrics

    def scheduler_running(self) -> bool:
        """True while the scheduler and the worker loop run (and the daemon is not stopping)."""
        ...

    def describe(self) -> dict[str, object]:
        """A small JSON-able summary: worker name, leader or not, in-flight shops."""
        ...


def _db_ok(engine: Engine) -> str:
    try:
        with read_only(engine).connect() as conn:  # never queues behind a writer (SQLite)
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"{type(exc).__name__}"
    return ""


def health_router(source: HealthSource) -> APIRouter:
    """`GET /healthz`, `GET /readyz`, `GET /metrics` for one daemon."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, object]:
        """The process is alive and its event loop answers."""
        return {"status": "ok", **source.describe()}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready when the database answers, every loop runs and none is failing; 503 otherwise."""
        db_error = await asyncio.to_thread(_db_ok, source.engine)
        running = source.scheduler_running()
        ready = not db_error and running
        body = {
            "ready": ready,
            "database": db_error or "ok",
            "scheduler": "running" if running else "stopped",
            "failing": source.describe().get("failing", {}),
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition."""
        payload = await asyncio.to_thread(source.metrics.render)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return router
