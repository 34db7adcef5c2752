"""Pages for people: every page translated, drift paged and filtered, producer pages sorted by what needs action."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_kit import Tokens, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient
from i18n_kit import coded_values, raw_codes, snake_codes, vietnamese_errors, visible_text
from report_world import NOW, A, B
from sqlalchemy.engine import Engine

from connector.store import session_scope
from connector.store.models import DriftRow

PAGES = ["/", "/drift", f"/producers/{A}", f"/producers/{B}", "/drift?page=2", "/producers/NOPE"]


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def _many_open_drifts(engine: Engine, n: int) -> None:
    with session_scope(engine) as s:
        for i in range(n):
            s.add(
                DriftRow(
                    shop_id="voso-ag", sku=f"AG-{9000 + i}", kind="stock" if i % 2 else "price",
                    first_seen=NOW - timedelta(minutes=i), last_seen=NOW, expected=str(100 + i), observed="1",
                )
            )  # fmt: skip
        for i in range(30):
            s.add(
                DriftRow(
                    shop_id="tiki-ag", sku=f"AG-{8000 + i}", kind="price", first_seen=NOW - timedelta(days=3),
                    last_seen=NOW, expected="1", observed="2", resolved_at=NOW - timedelta(days=i % 3, hours=1),
                )
            )  # fmt: skip


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_shows_coded_values_in_words(
    client: TestClient, tokens: Tokens, world_engine: Engine, lang: str
) -> None:
    vietnamese_errors(world_engine)
    codes = coded_values() if lang == "vi" else snake_codes()
    found = {}
    operator = {"Authorization": f"Bearer {tokens.operator}"}
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        response = client.get(f"{path}{sep}lang={lang}", headers=operator)
        assert response.status_code in (200, 404), path
        found[path] = raw_codes(visible_text(response.text), codes)
    for path in ("/login", "/"):  # sign-in and the 403 page
        response = client.get(f"{path}?lang={lang}", headers={"Authorization": f"Bearer {tokens.producer_a}"})
        found[f"{path} as producer"] = raw_codes(visible_text(response.text), codes)
    assert {path: codes_ for path, codes_ in found.items() if codes_} == {}


def test_a_producer_on_an_operator_page_is_sent_to_their_own_page(client: TestClient, tokens: Tokens) -> None:
    sign_in(client, tokens.producer_a)
    response = client.get("/")
    assert response.status_code == 403
    assert f'href="/producers/{A}"' in response.text and "Đến trang của tôi" in response.text
    assert 'action="/logout"' in response.text


def test_every_signed_in_page_has_a_sign_out_button(client: TestClient, tokens: Tokens) -> None:
    sign_in(client, tokens.operator)
    for path in PAGES:
        text = client.get(path).text
        assert re.search(r'<form method="post" action="/logout"><input type="hidden" name="csrf" value="\w{32}">', text)


def test_drift_page_is_paged_open_first_with_resolved_collapsed(
    client: TestClient, tokens: Tokens, world_engine: Engine
) -> None:
    _many_open_drifts(world_engine, 120)
    operator = {"Authorization": f"Bearer {tokens.operator}"}
    first = client.get("/drift?lang=en", headers=operator).text
    open_rows = first.split("Open drift", 1)[1].split("By kind, shop and producer", 1)[0]
    assert open_rows.count("<tr><td") == 50 and "Showing 1–50 of 129" in first and "Page 1 of 3" in first
    assert 'href="/drift?lang=en&amp;page=2"' in first
    last = client.get("/drift?lang=en&page=3", headers=operator).text
    assert "Showing 101–129 of 129" in last and 'href="/drift?lang=en&amp;page=2"' in last
    stock = client.get("/drift?lang=en&kind=stock", headers=operator).text
    assert "Showing 1–50 of 61" in stock and "Price differs</td>" not in stock.split("By kind")[0]  # + the silent one
    resolved = first.split("Resolved by day and kind", 1)[1]
    assert "<details" in first.split("Resolved by day and kind", 1)[0][-200:]
    assert resolved.count("<tr><td") == 4  # price on 3 local days (the world's merges in) + the world's stock
    assert len(first) < 200_000


def test_producer_page_puts_what_needs_action_first(client: TestClient, tokens: Tokens) -> None:
    text = client.get(f"/producers/{A}", headers=tokens.header("a")).text
    order = re.findall(r'<section class="product( needs-action)?" id="p-([\w-]+)"', text)
    assert [sku for _, sku in order][:3] == ["AG-0030", "AG-0031", "AG-0032"]
    assert all(flag for flag, _ in order[:3])
    assert "3 sản phẩm · 9 lượt đăng bán" in text and "3 sản phẩm cần bạn xử lý" in text
    assert 'href="#p-AG-0030"' in text  # the "rejected" summary card links to the first rejected product
    assert "Sửa mục «Hình ảnh sản phẩm»" in text and "«images»" not in text
    assert "126.000\u00a0₫" in text
