"""`ocop-sync shop connect | list | disconnect` over loopback HTTP, with a secret canary on every output.

Lazada's code comes from the sandbox's control route (what the redirect would carry) and is
given with `--code`; Voso logs in with its credentials. Neither the credentials, the code nor
any stored token may appear in the command output or the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session
from typer.testing import CliRunner

from adapters.sandbox import SandboxOptions
from connector.cli import app
from connector.engine.tokens import SECRET_KEY_ENV, TokenVault, load_tokens
from connector.store.db import make_engine
from connector.testing.loopback import Served, credentials_env, make_sandboxes, serve, settings_toml
from connector.testing.world import shops

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[Served]:
    boxes = make_sandboxes(shops(marketplaces=("lazada", "voso")), SandboxOptions(rate_limit_per_s=100_000, seed=3))
    with serve(boxes) as srv:
        yield srv


def test_connect_list_disconnect_without_leaking_a_secret(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shop_list = shops(served.urls, marketplaces=("lazada", "voso"))
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    (tmp_path / "settings.toml").write_text(settings_toml(db_url, tmp_path, shop_list), encoding="utf-8")
    secrets = {k: v for k, v in credentials_env(shop_list).items() if not k.endswith("_REFRESH_TOKEN")}
    key = Fernet.generate_key().decode()
    for name, value in {**secrets, SECRET_KEY_ENV: key, "OCOP_SYNC_SETTINGS": str(tmp_path / "settings.toml")}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    code = httpx.post(served.urls["lazada"] + "/_sandbox/lazada/auth_code", json={"seller_id": "REL-LAZADA"}).json()
    lazada = runner.invoke(app, ["shop", "connect", "lazada-rel", "--code", code["code"]])
    assert lazada.exit_code == 0, lazada.output
    assert "/oauth/authorize?" in lazada.output and "rel-lazada@sandbox.lazada.vn" in lazada.output
    voso = runner.invoke(app, ["shop", "connect", "voso-rel"])
    assert voso.exit_code == 0, voso.output
    replay = runner.invoke(app, ["shop", "connect", "lazada-rel", "--code", code["code"]])
    assert replay.exit_code == 1 and "Invalid authorization code" in replay.output, replay.output
    listed = runner.invoke(app, ["shop", "list"])
    assert listed.exit_code == 0 and listed.output.count("connected") == 2, listed.output

    engine = make_engine(db_url)
    with Session(engine) as session:
        stored = [v for s in shop_list for v in (load_tokens(session, TokenVault(key), s.id) or {}).values()]
    engine.dispose()
    # the app key is public by design: it is the client_id of the seller-authorisation address
    hidden = [v for k, v in secrets.items() if not k.endswith("_APP_KEY")]
    planted = [*hidden, key, code["code"], *(v for v in stored if len(v) > 20)]
    every_output = lazada.output + voso.output + replay.output + listed.output + caplog.text
    assert [v for v in planted if v and v in every_output] == []

    gone = runner.invoke(app, ["shop", "disconnect", "voso-rel"])
    assert gone.exit_code == 0 and "tokens removed" in gone.output
    after = runner.invoke(app, ["shop", "list"])
    assert "not connected" in after.output


def test_unknown_shop_and_missing_key_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.toml").write_text(
        settings_toml(f"sqlite:///{tmp_path / 'u.db'}", tmp_path, shops()), encoding="utf-8"
    )
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["shop", "connect", "lazada-rel"]).exit_code == 2
    monkeypatch.setenv(SECRET_KEY_ENV, Fernet.generate_key().decode())
    assert runner.invoke(app, ["shop", "connect", "nope"]).exit_code == 2


def test_categories_search_is_diacritics_insensitive(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_list = shops(served.urls, marketplaces=("lazada",))
    (tmp_path / "settings.toml").write_text(
        settings_toml(f"sqlite:///{tmp_path / 'k.db'}", tmp_path, shop_list), encoding="utf-8"
    )
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "settings.toml"))
    for name, value in credentials_env(shop_list).items():
        monkeypatch.setenv(name, value)
    found = CliRunner().invoke(app, ["shop", "categories", "lazada-rel", "--search", "mat ong"])
    assert found.exit_code == 0, found.output
    assert found.output.strip() == "10023  Bách hóa online / Thực phẩm khô / Mật ong"
