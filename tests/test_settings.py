"""Settings: settings.toml plus OCOP_SYNC__SECTION__KEY overrides, secrets only from the environment."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from typer.testing import CliRunner

from connector.cli import app
from connector.settings import (
    REDACTED,
    Settings,
    SettingsError,
    ShopSettings,
    find_secrets,
    is_secret_key,
    load_settings,
    redacted,
)

ROOT = Path(__file__).resolve().parents[1]
CANARY = "canary-Sup3rS3cret-7f1c"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the OCOP_SYNC__ variables they set themselves."""
    import os

    for name in list(os.environ):
        if name.startswith("OCOP_SYNC__"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_settings_file_loads() -> None:
    settings = load_settings(ROOT / "settings.toml")
    assert {s.id for s in settings.shops} == {"voso-ag", "lazada-ag", "tiki-ag"}
    assert settings.database.effective_url() == "sqlite:///var/ocop-sync.db"


def test_every_key_is_documented_in_settings_toml() -> None:
    text = (ROOT / "settings.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for name, field in Settings.model_fields.items():
        model = field.annotation
        if name == "shops":
            for key in ShopSettings.model_fields:
                assert f"#   {key} " in text, f"shops.{key} is not described in settings.toml"
            continue
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key, sub in model.model_fields.items():
            if sub.annotation == SecretStr | None:
                env = f"OCOP_SYNC__{name}__{key}".upper()
                assert env in text, f"{name}.{key} (secret) must name its environment variable"
            else:
                assert key in data[name], f"{name}.{key} is missing from settings.toml"
    lines = text.split("[[shops]]")[0].splitlines()  # shop keys are described once, above the blocks
    for i, line in enumerate(lines):
        if line and not line.startswith(("#", "[")):
            block = lines[max(0, i - 4) : i]
            assert any(b.startswith("#") for b in block), f"settings.toml line {i + 1} has no comment: {line}"


def test_environment_overrides_nested_keys_and_keeps_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[sync]\ncert_warning_days = 45\nmax_deactivate_ratio = 0.3\n[database]\ndata_dir = "d"\n')
    monkeypatch.setenv("OCOP_SYNC__SYNC__CERT_WARNING_DAYS", "30")
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", "postgresql://127.0.0.1:5432/ocop")
    settings = load_settings(path)
    assert settings.sync.cert_warning_days == 30  # env wins
    assert settings.sync.max_deactivate_ratio == 0.3  # the rest of the section stays from the file
    assert settings.database.url == "postgresql://127.0.0.1:5432/ocop"
    assert settings.database.data_dir == Path("d")


def test_environment_can_replace_a_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_SYNC__SHOPS", '[{"id": "voso-x", "marketplace": "voso", "seller_id": "S1"}]')
    settings = load_settings(write(tmp_path, ""))
    assert [s.id for s in settings.shops] == ["voso-x"]


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("app_secret", True),
        ("smtp_password", True),
        ("access_token", True),
        ("refresh_token", True),
        ("api_key", True),
        ("secret_key", True),
        ("private_key", True),
        ("fernet_keys", True),
        ("token_check_interval_s", False),
        ("smtp_user", False),
        ("max_tokens_per_s", False),
        ("seller_id", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[reports]\nsmtp_password = "x"\n', "reports.smtp_password"),
        ('[[shops]]\nid = "a"\nmarketplace = "voso"\nseller_id = "s"\napp_secret = "x"\n', "shops[0].app_secret"),
        ('[[shops]]\nid = "a"\nmarketplace = "voso"\nseller_id = "s"\n[shops.options]\naccess_token = "x"\n',
         "shops[0].options.access_token"),
    ],
)  # fmt: skip
def test_secrets_in_the_file_are_refused(tmp_path: Path, toml: str, named: str) -> None:
    with pytest.raises(SettingsError, match="secrets must come from the environment") as info:
        load_settings(write(tmp_path, toml))
    assert named in str(info.value)
    assert '"x"' not in str(info.value)
    assert find_secrets(tomllib.loads(toml)) == [named]


def test_secret_from_the_environment_is_accepted_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_SYNC__REPORTS__SMTP_PASSWORD", CANARY)
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", f"postgresql://ocop:{CANARY}@127.0.0.1:5432/ocop")
    settings = load_settings(write(tmp_path, '[reports]\nsmtp_user = "bao"\n'))
    assert settings.reports.smtp_password is not None
    assert settings.reports.smtp_password.get_secret_value() == CANARY
    shown = redacted(settings)
    assert CANARY not in json.dumps(shown)
    assert shown["reports"]["smtp_password"] == REDACTED
    assert shown["database"]["url"] == f"postgresql://ocop:{REDACTED}@127.0.0.1:5432/ocop"


def test_config_show_never_prints_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[[shops]]\nid = "lazada-x"\nmarketplace = "lazada"\nseller_id = "S"\n'
                           'base_url = "https://api.example.vn"\n[shops.options]\nregion = "vn"\n')  # fmt: skip
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(path))
    monkeypatch.setenv("OCOP_SYNC__REPORTS__SMTP_PASSWORD", CANARY)
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", f"postgresql://ocop:{CANARY}@127.0.0.1/ocop")
    monkeypatch.setenv("OCOP_SYNC_SHOP_LAZADA_X_APP_SECRET", CANARY)
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    shown = json.loads(result.output)
    assert shown["reports"]["smtp_password"] == REDACTED
    assert shown["shops"][0]["options"] == {"region": "vn"}


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("[http]\ntimeout_s = -1\n", {}, "http.timeout_s"),
        ("[daemon]\nport = 70000\n", {}, "daemon.port"),
        ("[database]\nurll = 'x'\n", {}, "database.urll"),
        ("", {"OCOP_SYNC__DAEMON__PORT": "eighty"}, "daemon.port"),
        ("", {"OCOP_SYNC__SYNC__MAX_DEACTIVATE_RATIO": "2"}, "sync.max_deactivate_ratio"),
        ("", {"OCOP_SYNC__SHOPS": "[not json"}, "shops"),
        ("[http\n", {}, "not valid TOML"),
        ("[reports]\nsmtp_password = 'x'\n", {}, "reports.smtp_password"),
        ('[[shops]]\nid = "A b"\nmarketplace = "voso"\nseller_id = "s"\n', {}, "shops.0.id"),
        ('[[shops]]\nid="a"\nmarketplace="voso"\nseller_id="s"\n[[shops]]\nid="a"\nmarketplace="tiki"\nseller_id="t"\n',
         {}, "shops: Value error, shop ids must be unique"),
    ],
)  # fmt: skip
def test_invalid_settings_exit_2_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str], named: str
) -> None:
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(write(tmp_path, toml)))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["config", "show"], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert named in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
