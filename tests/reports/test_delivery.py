"""Daily delivery: a file per producer, and an e-mail through a real (local) SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from report_world import NOW, REJECT_REASON, A, world_settings
from sqlalchemy.engine import Engine

from adapters.base import AdapterRegistry
from connector.context import AppContext, SandboxHub
from connector.reports.delivery import deliver_producer_reports


class Inbox:
    """An aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _ctx(engine: Engine, url: str, out_dir: Path, **reports: object) -> AppContext:
    registry = AdapterRegistry({})
    settings = world_settings(url, out_dir, **reports)
    return AppContext(settings, engine, registry, SandboxHub(registry), clock=lambda: NOW)


def test_reports_are_written_and_mailed(
    world_engine: Engine, world_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    ctx = _ctx(
        world_engine,
        world_url,
        tmp_path / "out",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="ocop@an-giang.example",
    )
    written = deliver_producer_reports(ctx)
    assert len(written) == 62 and all(p.parent == tmp_path / "out" / "2026-03-01" for p in written)
    mine = (tmp_path / "out" / "2026-03-01" / f"{A}.html").read_text(encoding="utf-8")
    assert REJECT_REASON in mine and "Bị sàn từ chối" in mine

    assert len(inbox.messages) == 62
    envelope, message = next((e, m) for e, m in inbox.messages if e.rcpt_tos == [f"hoso+{A.lower()}@example.vn"])
    assert envelope.mail_from == "ocop@an-giang.example"
    assert str(message["Subject"]) == "Báo cáo sản phẩm OCOP trên sàn — Công ty TNHH Rượu Phú Tân — 2026-03-01"
    parts = {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}
    html_parts = [p for p in message.walk() if p.get_content_type() == "text/html"]
    assert len(html_parts) == 2  # inline alternative + attachment
    attachment = next(p for p in html_parts if p.get_filename())
    assert attachment.get_filename() == f"ocop-{A}-2026-03-01.html"
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes) and REJECT_REASON in payload.decode("utf-8")
    text = parts["text/plain"].get_payload(decode=True)
    assert isinstance(text, bytes) and "Bị sàn từ chối: 1" in text.decode("utf-8")


def test_without_smtp_only_files_are_written(world_engine: Engine, world_url: str, tmp_path: Path) -> None:
    ctx = _ctx(world_engine, world_url, tmp_path / "out", lang="en")
    written = deliver_producer_reports(ctx)
    assert len(written) == 62
    assert "Rejected" in (tmp_path / "out" / "2026-03-01" / f"{A}.html").read_text(encoding="utf-8")


def test_an_unreachable_smtp_server_does_not_stop_delivery(
    world_engine: Engine, world_url: str, tmp_path: Path
) -> None:
    ctx = _ctx(world_engine, world_url, tmp_path / "out", smtp_host="127.0.0.1", smtp_port=_free_port())
    assert len(deliver_producer_reports(ctx)) == 62


def test_report_deliver_command_writes_every_producer_file(
    world_engine: Engine, world_url: str, tmp_path: Path
) -> None:
    """`ocop-sync report deliver` does what the daily job does, on demand."""
    from typer.testing import CliRunner

    from connector.cli import app as cli

    out = tmp_path / "delivered"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[database]\nurl = "{world_url}"\n\n[reports]\nout_dir = "{out}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", "deliver", "--lang", "en"], env={"OCOP_SYNC_SETTINGS": str(settings)})
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*/*.html"))
    assert len(files) == 62 and "62" in result.output
    mine = next(f for f in files if f.name == f"{A}.html").read_text(encoding="utf-8")
    assert REJECT_REASON in mine and "Rejected" in mine
