"""The plan: desired vs observed listings of one shop -> drift items and the actions that close them.

Pure and deterministic: immutable values in, a `Plan` out, sorted by SKU; no I/O, no clock.
Rules, per SKU:

- desired and not on the marketplace -> MISSING + CREATE, unless a create is already
  awaiting review, was rejected for the same content, or has an unresolved intent;
- on the marketplace and neither desired nor bound to us -> ORPHAN, never touched;
- bound but no longer desired (retired, out of the shop's assortment) and active -> DEACTIVATE;
- under review -> QC_PENDING, nothing sent; rejected -> QC_REJECTED, content resent only when
  the catalog content changed since the rejected push;
- desired inactive (product off, certificate expired) and active -> STATUS / CERT_EXPIRED + DEACTIVATE;
- otherwise content, price/stock and status are compared field by field.

Guards then refuse to act on an empty observation while bindings exist, or to deactivate
more than `max_deactivate_ratio` of the shop, unless `force`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from connector.engine.desired import same_pushed_content
from connector.engine.gcpause import gc_paused
from schemas.listing import Listing, ListingContent, ListingDraft, ListingRef, ListingStatus, QcStatus
from schemas.sync import Action, ActionKind, DesiredListing, Drift, DriftKind, Plan

__all__ = [
    "ACTION_ORDER",
    "CLOSES",
    "BindingView",
    "PlanPolicy",
    "action_key",
    "content_differences",
    "plan_shop",
]

ACTION_ORDER: dict[ActionKind, int] = {
    ActionKind.CREATE: 0,
    ActionKind.UPDATE_CONTENT: 1,
    ActionKind.SET_PRICE_STOCK: 2,
    ActionKind.DEACTIVATE: 3,
    ActionKind.REACTIVATE: 4,
}
"""The order actions of one SKU are applied in (content and price before going live)."""

CLOSES: dict[ActionKind, frozenset[DriftKind]] = {
    ActionKind.CREATE: frozenset({DriftKind.MISSING}),
    ActionKind.UPDATE_CONTENT: frozenset({DriftKind.CONTENT, DriftKind.QC_REJECTED}),
    ActionKind.SET_PRICE_STOCK: frozenset({DriftKind.PRICE, DriftKind.STOCK}),
    ActionKind.DEACTIVATE: frozenset({DriftKind.STATUS, DriftKind.CERT_EXPIRED}),
    ActionKind.REACTIVATE: frozenset({DriftKind.STATUS}),
}
"""The drift kinds an acknowledged action is expected to close (verify checks this)."""


@dataclass(frozen=True)
class BindingView:
    """What the store knows about one SKU on one shop, as the plan needs it."""

    sku: str
    external_id: str | None = None
    external_sku_id: str | None = None
    request_id: str | None = None
    create_intent: bool = False
    qc_status: str = ""
    qc_reason: str = ""
    qc_field: str = ""
    pushed_content_hash: str = ""

    @property
    def bound(self) -> bool:
        """True when the marketplace gave us an id (or a review request) for this SKU."""
        return bool(self.external_id or self.external_sku_id or self.request_id)

    def ref(self) -> ListingRef:
        """The listing reference the binding holds."""
        return ListingRef(
            seller_sku=self.sku,
            external_id=self.external_id,
            external_sku_id=self.external_sku_id,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class PlanPolicy:
    """Knobs of one planning pass."""

    max_deactivate_ratio: float = 0.2
    force: bool = False
    full_observation: bool = True  # observed holds every listing of the shop (the empty-guard applies)
    scope: frozenset[str] | None = None  # plan only these SKUs (incremental runs)
    shop_size: int = 0  # listings the shop holds, for the deactivation ratio (0 = infer)
    reviewed_content_updates: bool = False
    # pre-flight check of a draft (content, price) -> "" when it may be sent, else what is missing or wrong
    preflight: Callable[[ListingContent, int], str] | None = None

    def invalid(self, d: DesiredListing) -> str:
        """What makes the desired listing unsendable ("" when nothing does, or no check is set)."""
        return self.preflight(d.content, d.price_vnd) if self.preflight is not None else ""


@dataclass
class _Acc:
    drifts: list[Drift] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def _money(value: int) -> str:
    return f"{value:,} VND"


def action_key(action: Action) -> str:
    """The idempotency key of an action: (shop, SKU, kind, hash of the values it sets)."""
    payload = json.dumps(action.payload, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
    return f"{action.shop_id}:{action.seller_sku}:{action.kind.value}:{digest}"


def content_differences(desired: ListingContent, observed: ListingContent) -> list[str]:
    """Names of the content fields that differ, in field order."""
    if desired.__dict__ == observed.__dict__:  # equal field values dump equal: skip two dumps for the common case
        return []
    want, have = desired.model_dump(mode="json"), observed.model_dump(mode="json")
    return [name for name in want if want[name] != have.get(name)]


def _short(value: object, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ref_payload(ref: ListingRef) -> dict[str, object]:
    return {"ref": ref.model_dump(mode="json")}


def _ref_of(observed: Listing | None, binding: BindingView | None, sku: str) -> ListingRef:
    if observed is not None:
        return observed.ref
    return binding.ref() if binding is not None else ListingRef(seller_sku=sku)


def _drift(acc: _Acc, d_shop: str, sku: str, kind: DriftKind, expected: str, observed: str) -> None:
    acc.drifts.append(Drift(shop_id=d_shop, seller_sku=sku, kind=kind, expected=expected, observed=observed))


def _act(acc: _Acc, shop: str, sku: str, kind: ActionKind, reason: str, payload: dict[str, object]) -> None:
    acc.actions.append(Action(shop_id=shop, seller_sku=sku, kind=kind, reason=reason, payload=payload))


def _plan_missing(acc: _Acc, d: DesiredListing, b: BindingView | None, policy: PlanPolicy) -> None:
    shop, sku = d.shop_id, d.seller_sku
    if not d.active:
        return  # nothing to take down, and we never create a listing only to hide it
    if b is not None and b.qc_status == QcStatus.PENDING and b.request_id:
        _drift(acc, shop, sku, DriftKind.QC_PENDING, "approved", f"create request {b.request_id} under review")
        return
    if b is not None and b.qc_status == QcStatus.REJECTED and _pushed(b, d):
        _drift(acc, shop, sku, DriftKind.QC_REJECTED, "approved", _rejection(b.qc_reason, b.qc_field))
        return
    if b is not None and b.create_intent:
        _drift(acc, shop, sku, DriftKind.MISSING, "listed", "create outcome unknown; look up by seller SKU first")
        return
    if invalid := policy.invalid(d):
        _drift(acc, shop, sku, DriftKind.INVALID, "valid for the marketplace and category", invalid)
        return  # pre-flight failed: no create call, the producer report says what to add
    _drift(acc, shop, sku, DriftKind.MISSING, "listed", "not on the marketplace")
    draft = ListingDraft(seller_sku=sku, content=d.content, price_vnd=d.price_vnd, stock=d.stock, active=True)
    payload: dict[str, object] = {"draft": draft.model_dump(mode="json"), "content_hash": d.content_hash}
    _act(
        acc, shop, sku, ActionKind.CREATE, f"not listed yet: create at {_money(d.price_vnd)}, stock {d.stock}", payload
    )


def _pushed(b: BindingView, d: DesiredListing) -> bool:
    """True when the content last pushed for this binding is the desired content."""
    return same_pushed_content(b.pushed_content_hash, d.content, d.content_hash)


def _rejection(reason: str, field_name: str) -> str:
    text = f"rejected: {reason or 'no reason given'}"
    return f"{text} (field {field_name})" if field_name else text


def _plan_qc(acc: _Acc, d: DesiredListing, o: Listing, b: BindingView | None) -> bool:
    """Handle listings under review or rejected; True when nothing else should be planned."""
    shop, sku = d.shop_id, d.seller_sku
    if o.qc_status == QcStatus.PENDING:
        _drift(acc, shop, sku, DriftKind.QC_PENDING, "approved", "under marketplace review")
        return True
    if o.qc_status != QcStatus.REJECTED:
        return False
    _drift(acc, shop, sku, DriftKind.QC_REJECTED, "approved", _rejection(o.qc_reason, o.qc_field))
    if d.active and b is not None and b.pushed_content_hash and not _pushed(b, d):
        payload = {**_ref_payload(o.ref), "content": d.content.model_dump(mode="json"), "content_hash": d.content_hash}
        reason = "rejected by marketplace review; catalog content changed since, resend it for review"
        _act(acc, shop, sku, ActionKind.UPDATE_CONTENT, reason, payload)
    return True


def _plan_inactive(acc: _Acc, d: DesiredListing, o: Listing) -> None:
    if o.status != ListingStatus.ACTIVE:
        return
    shop, sku = d.shop_id, d.seller_sku
    if d.cert_expired:
        _drift(acc, shop, sku, DriftKind.CERT_EXPIRED, "inactive (OCOP certificate expired)", "active")
        reason = "OCOP certificate expired: take the listing down until it is renewed"
    else:
        _drift(acc, shop, sku, DriftKind.STATUS, "inactive", "active")
        reason = "product is inactive in the catalog: take the listing down"
    _act(acc, shop, sku, ActionKind.DEACTIVATE, reason, _ref_payload(o.ref))


def _plan_content(acc: _Acc, d: DesiredListing, o: Listing, b: BindingView | None, policy: PlanPolicy) -> None:
    changed = content_differences(d.content, o.content)
    if not changed:
        return
    shop, sku = d.shop_id, d.seller_sku
    want, have = d.content.model_dump(mode="json"), o.content.model_dump(mode="json")
    expected = "; ".join(f"{n}={_short(want[n])}" for n in changed)
    seen = "; ".join(f"{n}={_short(have.get(n))}" for n in changed)
    if policy.reviewed_content_updates and b is not None and b.qc_status == QcStatus.PENDING and _pushed(b, d):
        _drift(acc, shop, sku, DriftKind.QC_PENDING, expected, "content update under marketplace review")
        return
    if invalid := policy.invalid(d):
        _drift(acc, shop, sku, DriftKind.INVALID, "valid for the marketplace and category", invalid)
        return  # pre-flight failed: no content update is sent
    _drift(acc, shop, sku, DriftKind.CONTENT, expected, seen)
    payload = {**_ref_payload(o.ref), "content": d.content.model_dump(mode="json"), "content_hash": d.content_hash}
    _act(acc, shop, sku, ActionKind.UPDATE_CONTENT, f"content differs from the catalog: {', '.join(changed)}", payload)


def _plan_price_stock(acc: _Acc, d: DesiredListing, o: Listing) -> None:
    shop, sku = d.shop_id, d.seller_sku
    reasons: list[str] = []
    if o.price_vnd != d.price_vnd:
        _drift(acc, shop, sku, DriftKind.PRICE, _money(d.price_vnd), _money(o.price_vnd))
        reasons.append(f"price {_money(o.price_vnd)} -> {_money(d.price_vnd)}")
    if o.stock != d.stock:
        _drift(acc, shop, sku, DriftKind.STOCK, str(d.stock), str(o.stock))
        reasons.append(f"stock {o.stock} -> {d.stock}")
    if reasons:
        payload = {**_ref_payload(o.ref), "price_vnd": d.price_vnd, "stock": d.stock}
        _act(acc, shop, sku, ActionKind.SET_PRICE_STOCK, "; ".join(reasons), payload)


def _plan_listed(acc: _Acc, d: DesiredListing, o: Listing, b: BindingView | None, policy: PlanPolicy) -> None:
    if o.status == ListingStatus.DELETED:
        if d.active:
            _drift(acc, d.shop_id, d.seller_sku, DriftKind.STATUS, "active", "deleted on the marketplace")
        return
    if _plan_qc(acc, d, o, b):
        return
    if not d.active:
        _plan_inactive(acc, d, o)
        return
    _plan_content(acc, d, o, b, policy)
    _plan_price_stock(acc, d, o)
    if o.status == ListingStatus.INACTIVE:
        _drift(acc, d.shop_id, d.seller_sku, DriftKind.STATUS, "active", "inactive")
        _act(
            acc,
            d.shop_id,
            d.seller_sku,
            ActionKind.REACTIVATE,
            "listing is hidden but the catalog sells it",
            _ref_payload(o.ref),
        )


def _plan_undesired(acc: _Acc, shop: str, o: Listing, b: BindingView | None) -> None:
    sku = o.seller_sku
    if b is None or not b.bound:
        _drift(
            acc, shop, sku, DriftKind.ORPHAN, "not in the catalog for this shop", f"{o.status.value}: {o.content.title}"
        )
        return
    if o.status == ListingStatus.ACTIVE:
        _drift(acc, shop, sku, DriftKind.STATUS, "inactive (no longer in the catalog for this shop)", "active")
        _act(
            acc,
            shop,
            sku,
            ActionKind.DEACTIVATE,
            "product left the catalog or this shop's assortment",
            _ref_payload(o.ref),
        )


def _guard(
    plan_actions: Sequence[Action],
    observed: Mapping[str, Listing],
    bindings: Mapping[str, BindingView],
    policy: PlanPolicy,
) -> str:
    if policy.force:
        return ""
    bound = sum(1 for b in bindings.values() if b.bound)
    if policy.full_observation and not observed and bound:
        return (
            f"the marketplace returned no listings while {bound} are bound: refusing to act on an empty "
            "observation (use --force if the shop really is empty)"
        )
    deactivations = sum(1 for a in plan_actions if a.kind is ActionKind.DEACTIVATE)
    size = policy.shop_size or max(bound, len(observed))
    allowed = max(1, math.floor(policy.max_deactivate_ratio * size))
    if deactivations > allowed:
        return (
            f"would deactivate {deactivations} of {size} listings, more than the "
            f"{policy.max_deactivate_ratio:.0%} allowed (use --force to proceed)"
        )
    return ""


def plan_shop(
    shop_id: str,
    desired: Iterable[DesiredListing],
    observed: Mapping[str, Listing],
    bindings: Mapping[str, BindingView],
    policy: PlanPolicy | None = None,
) -> Plan:
    """Compare one shop's desired and observed listings; return drift and actions, sorted by SKU."""
    policy = policy or PlanPolicy()
    wanted = {d.seller_sku: d for d in desired}
    skus = set(wanted) | set(observed)
    if policy.scope is not None:
        skus &= policy.scope
    acc = _Acc()
    with gc_paused():  # builds only acyclic values
        for sku in sorted(skus):
            d, o, b = wanted.get(sku), observed.get(sku), bindings.get(sku)
            if d is None:
                if o is not None:
                    _plan_undesired(acc, shop_id, o, b)
            elif o is None:
                _plan_missing(acc, d, b, policy)
            else:
                _plan_listed(acc, d, o, b, policy)
    actions = sorted(acc.actions, key=lambda a: (a.seller_sku, ACTION_ORDER[a.kind]))
    drifts = sorted(acc.drifts, key=lambda x: (x.seller_sku, x.kind.value))
    blocked = _guard(actions, observed, bindings, policy)
    return Plan(shop_id=shop_id, drifts=tuple(drifts), actions=() if blocked else tuple(actions), guard_blocked=blocked)
