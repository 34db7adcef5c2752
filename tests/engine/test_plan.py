"""The plan: table tests per drift kind, guards, and properties (convergence, determinism, orphans)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.engine.desired import content_hash
from connector.engine.plan import BindingView, PlanPolicy, plan_shop
from schemas.listing import Listing, ListingContent, ListingRef, ListingStatus, QcStatus
from schemas.sync import ActionKind, DesiredListing, DriftKind, Plan

SHOP = "voso-ag"


def content(title: str = "Khô cá lóc - OCOP 4 sao") -> ListingContent:
    return ListingContent(title=title, description="ngon", brand="HTX", category_key=3, unit="gói", weight_g=500)


def desired(
    sku: str,
    *,
    price: int = 100_000,
    stock: int = 10,
    active: bool = True,
    expired: bool = False,
    title: str = "Khô cá lóc - OCOP 4 sao",
) -> DesiredListing:
    c = content(title)
    return DesiredListing(
        shop_id=SHOP,
        seller_sku=sku,
        producer_id="P1",
        content=c,
        price_vnd=price,
        stock=stock,
        active=active,
        inactive_reason="" if active else ("certificate_expired" if expired else "product_inactive"),
        cert_expired=expired,
        content_hash=content_hash(c),
    )


def listing(
    sku: str,
    *,
    price: int = 100_000,
    stock: int = 10,
    status: ListingStatus = ListingStatus.ACTIVE,
    qc: QcStatus = QcStatus.APPROVED,
    title: str = "Khô cá lóc - OCOP 4 sao",
    reason: str = "",
) -> Listing:
    return Listing(
        ref=ListingRef(seller_sku=sku, external_id=f"ext-{sku}"),
        content=content(title),
        price_vnd=price,
        stock=stock,
        status=status,
        qc_status=qc,
        qc_reason=reason,
    )


def bound(sku: str, **kw: object) -> BindingView:
    return BindingView(sku=sku, external_id=f"ext-{sku}", **kw)  # type: ignore[arg-type]


def kinds(plan: Plan) -> tuple[list[tuple[str, DriftKind]], list[tuple[str, ActionKind]]]:
    return [(d.seller_sku, d.kind) for d in plan.drifts], [(a.seller_sku, a.kind) for a in plan.actions]


def test_missing_listing_is_created_with_its_desired_values() -> None:
    plan = plan_shop(SHOP, [desired("A", price=120_000, stock=3)], {}, {})
    assert kinds(plan) == ([("A", DriftKind.MISSING)], [("A", ActionKind.CREATE)])
    draft = plan.actions[0].payload["draft"]
    assert isinstance(draft, dict) and (draft["price_vnd"], draft["stock"]) == (120_000, 3)
    assert "create" in plan.actions[0].reason


def test_in_sync_listing_plans_nothing() -> None:
    assert kinds(plan_shop(SHOP, [desired("A")], {"A": listing("A")}, {"A": bound("A")})) == ([], [])


def test_price_and_stock_drift_become_one_absolute_write() -> None:
    plan = plan_shop(SHOP, [desired("A", price=105_000, stock=7)], {"A": listing("A", price=99_000, stock=9)}, {})
    assert kinds(plan) == ([("A", DriftKind.PRICE), ("A", DriftKind.STOCK)], [("A", ActionKind.SET_PRICE_STOCK)])
    price = plan.drifts[0]
    assert (price.expected, price.observed) == ("105,000 VND", "99,000 VND")
    assert (plan.actions[0].payload["price_vnd"], plan.actions[0].payload["stock"]) == (105_000, 7)
    assert "99,000 VND -> 105,000 VND" in plan.actions[0].reason


def test_content_drift_names_the_fields() -> None:
    plan = plan_shop(SHOP, [desired("A")], {"A": listing("A", title="Khô cá lóc")}, {"A": bound("A")})
    assert kinds(plan) == ([("A", DriftKind.CONTENT)], [("A", ActionKind.UPDATE_CONTENT)])
    assert plan.drifts[0].observed == "title=Khô cá lóc" and "title" in plan.actions[0].reason


def test_expired_certificate_takes_a_live_listing_down() -> None:
    plan = plan_shop(SHOP, [desired("A", active=False, expired=True)], {"A": listing("A")}, {"A": bound("A")})
    assert kinds(plan) == ([("A", DriftKind.CERT_EXPIRED)], [("A", ActionKind.DEACTIVATE)])
    assert "certificate" in plan.actions[0].reason


def test_inactive_desired_is_never_created_and_a_hidden_listing_is_left_alone() -> None:
    d = desired("A", active=False)
    assert kinds(plan_shop(SHOP, [d], {}, {})) == ([], [])
    hidden = listing("A", status=ListingStatus.INACTIVE, price=1)
    assert kinds(plan_shop(SHOP, [d], {"A": hidden}, {"A": bound("A")})) == ([], [])


def test_hidden_listing_of_a_sold_product_is_reactivated_after_its_other_fixes() -> None:
    obs = listing("A", status=ListingStatus.INACTIVE, price=1)
    plan = plan_shop(SHOP, [desired("A")], {"A": obs}, {"A": bound("A")})
    assert [a.kind for a in plan.actions] == [ActionKind.SET_PRICE_STOCK, ActionKind.REACTIVATE]


def test_orphans_are_reported_never_touched() -> None:
    plan = plan_shop(SHOP, [], {"X": listing("X")}, {})
    assert kinds(plan) == ([("X", DriftKind.ORPHAN)], [])


def test_a_bound_listing_no_longer_in_the_catalog_is_deactivated() -> None:
    plan = plan_shop(SHOP, [], {"A": listing("A")}, {"A": bound("A")}, PlanPolicy(force=True))
    assert kinds(plan) == ([("A", DriftKind.STATUS)], [("A", ActionKind.DEACTIVATE)])


def test_qc_pending_waits_and_rejected_resends_only_changed_content() -> None:
    pending = plan_shop(SHOP, [desired("A")], {"A": listing("A", qc=QcStatus.PENDING, price=1)}, {"A": bound("A")})
    assert kinds(pending) == ([("A", DriftKind.QC_PENDING)], [])
    d = desired("A")
    rejected = listing("A", qc=QcStatus.REJECTED, status=ListingStatus.INACTIVE, reason="ảnh mờ")
    same = plan_shop(SHOP, [d], {"A": rejected}, {"A": bound("A", pushed_content_hash=d.content_hash)})
    assert kinds(same) == ([("A", DriftKind.QC_REJECTED)], [])
    assert "ảnh mờ" in same.drifts[0].observed
    changed = plan_shop(SHOP, [d], {"A": rejected}, {"A": bound("A", pushed_content_hash="older")})
    assert kinds(changed) == ([("A", DriftKind.QC_REJECTED)], [("A", ActionKind.UPDATE_CONTENT)])


def test_no_create_while_a_create_awaits_review_or_its_outcome_is_unknown() -> None:
    review = bound("A", qc_status="pending", request_id="r1")
    assert kinds(plan_shop(SHOP, [desired("A")], {}, {"A": review})) == ([("A", DriftKind.QC_PENDING)], [])
    intent = BindingView(sku="A", create_intent=True)
    assert kinds(plan_shop(SHOP, [desired("A")], {}, {"A": intent})) == ([("A", DriftKind.MISSING)], [])


def test_empty_observation_guard() -> None:
    plan = plan_shop(SHOP, [desired("A"), desired("B")], {}, {"A": bound("A"), "B": bound("B")})
    assert plan.guard_blocked and not plan.actions and plan.drifts
    forced = plan_shop(SHOP, [desired("A")], {}, {"A": bound("A")}, PlanPolicy(force=True))
    assert not forced.guard_blocked and forced.actions


def test_mass_deactivation_guard() -> None:
    skus = [f"S{i:02d}" for i in range(10)]
    observed = {s: listing(s) for s in skus}
    bindings = {s: bound(s) for s in skus}
    wanted = [desired(s, active=i >= 3) for i, s in enumerate(skus)]  # 3 of 10 to take down: 30% > 20%
    plan = plan_shop(SHOP, wanted, observed, bindings)
    assert "3 of 10" in plan.guard_blocked and not plan.actions
    two = [desired(s, active=i >= 2) for i, s in enumerate(skus)]
    assert len(plan_shop(SHOP, two, observed, bindings).actions) == 2


def test_scope_limits_the_plan() -> None:
    plan = plan_shop(
        SHOP, [desired("A"), desired("B")], {}, {}, PlanPolicy(scope=frozenset({"B"}), full_observation=False)
    )
    assert [a.seller_sku for a in plan.actions] == ["B"]


# -- properties -------------------------------------------------------------------------------

SKUS = [f"AG-{i:04d}" for i in range(12)]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[DesiredListing], dict[str, Listing], dict[str, BindingView]]:
    wanted = draw(st.lists(st.sampled_from(SKUS), unique=True))
    desired_list = [
        desired(
            s,
            price=draw(st.integers(0, 3)) * 1000,
            stock=draw(st.integers(0, 3)),
            active=draw(st.booleans()),
            expired=draw(st.booleans()),
            title=draw(st.sampled_from(["a", "b"])),
        )
        for s in wanted
    ]
    observed: dict[str, Listing] = {}
    bindings: dict[str, BindingView] = {}
    for s in draw(st.lists(st.sampled_from(SKUS), unique=True)):
        observed[s] = listing(
            s,
            price=draw(st.integers(0, 3)) * 1000,
            stock=draw(st.integers(0, 3)),
            status=draw(st.sampled_from([ListingStatus.ACTIVE, ListingStatus.INACTIVE])),
            title=draw(st.sampled_from(["a", "b"])),
        )
        if s in wanted or draw(st.booleans()):
            bindings[s] = bound(s)
    return desired_list, observed, bindings


def simulate(
    plan: Plan, observed: dict[str, Listing], bindings: dict[str, BindingView]
) -> tuple[dict[str, Listing], dict[str, BindingView]]:
    """A perfect marketplace carrying out the plan's actions."""
    out, binds = dict(observed), dict(bindings)
    for a in plan.actions:
        p = a.payload
        if a.kind is ActionKind.CREATE:
            draft = p["draft"]
            assert isinstance(draft, dict)
            out[a.seller_sku] = Listing(
                ref=ListingRef(seller_sku=a.seller_sku, external_id="new"),
                content=ListingContent.model_validate(draft["content"]),
                price_vnd=draft["price_vnd"],
                stock=draft["stock"],
                status=ListingStatus.ACTIVE,
            )
            binds[a.seller_sku] = bound(a.seller_sku)
            continue
        cur = out[a.seller_sku]
        if a.kind is ActionKind.UPDATE_CONTENT:
            cur = cur.model_copy(update={"content": ListingContent.model_validate(p["content"])})
        elif a.kind is ActionKind.SET_PRICE_STOCK:
            cur = cur.model_copy(update={"price_vnd": p["price_vnd"], "stock": p["stock"]})
        else:
            status = ListingStatus.ACTIVE if a.kind is ActionKind.REACTIVATE else ListingStatus.INACTIVE
            cur = cur.model_copy(update={"status": status})
        out[a.seller_sku] = cur
    return out, binds


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_applying_a_plan_then_planning_again_gives_no_action(
    world: tuple[list[DesiredListing], dict[str, Listing], dict[str, BindingView]],
) -> None:
    wanted, observed, bindings = world
    policy = PlanPolicy(force=True)
    first = plan_shop(SHOP, wanted, observed, bindings, policy)
    after, binds = simulate(first, observed, bindings)
    assert plan_shop(SHOP, wanted, after, binds, policy).actions == ()


@settings(max_examples=100, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_plan_is_deterministic_and_independent_of_input_order(
    world: tuple[list[DesiredListing], dict[str, Listing], dict[str, BindingView]], rnd: random.Random
) -> None:
    wanted, observed, bindings = world
    shuffled = list(wanted)
    rnd.shuffle(shuffled)
    obs_items = list(observed.items())
    rnd.shuffle(obs_items)
    a = plan_shop(SHOP, wanted, observed, bindings)
    b = plan_shop(SHOP, shuffled, dict(obs_items), dict(reversed(list(bindings.items()))))
    assert a == b
    assert [x.seller_sku for x in a.actions] == sorted(x.seller_sku for x in a.actions)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_no_action_ever_targets_an_orphan(
    world: tuple[list[DesiredListing], dict[str, Listing], dict[str, BindingView]],
) -> None:
    wanted, observed, bindings = world
    plan = plan_shop(SHOP, wanted, observed, bindings, PlanPolicy(force=True))
    orphans = {d.seller_sku for d in plan.drifts if d.kind is DriftKind.ORPHAN}
    assert orphans == {s for s in observed if s not in {d.seller_sku for d in wanted} and s not in bindings}
    assert not orphans & {a.seller_sku for a in plan.actions}
