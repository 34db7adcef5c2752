"""`report stock SKU`: today's canonical stock of one SKU explained by its ledger movements, vi or en."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from connector.catalog.ledger import StockExplanation
from connector.reports.i18n import Lang, Translator

__all__ = ["render_stock"]


def _signed(delta: int) -> str:
    return f"+{delta}" if delta > 0 else str(delta)


def render_stock(explanation: StockExplanation, *, lang: Lang, tz: str) -> str:
    """Plain text: the stock now, the opening stock, each movement with its source, and totals per kind."""
    t = Translator(lang)
    zone = ZoneInfo(tz)
    out = [
        t("stock.title", sku=explanation.sku, name=explanation.name),
        t("stock.now", stock=explanation.stock),
        t("stock.opening", opening=explanation.opening),
        "",
    ]
    if not explanation.moves:
        out.append(t("stock.none"))
        return "\n".join(out) + "\n"
    out.append(t("stock.header"))
    for move in explanation.moves:
        source = (
            t("stock.source.order", shop=move.shop_id, order=move.order_id, line=move.line_id)
            if move.order_id is not None
            else ""
        )
        if move.run_id is not None:
            source += f" (run {move.run_id})"
        if move.note:
            source = f"{source} — {move.note}" if source else move.note
        when = move.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        kind = t(f"stock.kind.{move.kind}")
        out.append(f"{when} | {kind} | {_signed(move.delta)} | {move.stock_after} | {source}")
    out.append("")
    for kind, delta in sorted(explanation.totals.items()):
        out.append(t("stock.total", kind=t(f"stock.kind.{kind}"), delta=_signed(delta)))
    return "\n".join(out) + "\n"
