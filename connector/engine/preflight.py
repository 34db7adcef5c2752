"""Pre-flight: check a draft against the marketplace's content rules and the category's required attributes.

Pure: `check` takes the listing content, price and the rules (capabilities data plus the
category's required attributes) and returns every problem found; a draft with problems is
not sent (the plan records drift INVALID instead). `summary` writes the problems as the
drift's observed text, "missing: brand, shelf_life; wrong: title", which the reports translate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import ContentRules
from schemas.listing import ListingContent

MISSING = "missing"
WRONG = "wrong"


@dataclass(frozen=True)
class Problem:
    """One field that breaks a rule: missing (required and empty) or wrong (present but outside a limit)."""

    field: str
    kind: str
    detail: str = ""


def _attribute(content: ListingContent, name: str) -> str:
    if name in ("name", "title"):
        return content.title
    if name == "brand":
        return content.brand
    if name == "description":
        return content.description
    return content.attributes.get(name, "")


def check(content: ListingContent, price_vnd: int, rules: ContentRules, required: Iterable[str] = ()) -> list[Problem]:
    """Every rule the draft breaks, in field order; empty when it may be sent."""
    problems: list[Problem] = []
    for name in dict.fromkeys([*rules.required_attributes, *required]):
        if not _attribute(content, name).strip():
            problems.append(Problem(name, MISSING))
    if len(content.title) > rules.title_max_chars:
        problems.append(Problem("title", WRONG, f"{len(content.title)} > {rules.title_max_chars} chars"))
    if len(content.description) > rules.description_max_chars:
        detail = f"{len(content.description)} > {rules.description_max_chars} chars"
        problems.append(Problem("description", WRONG, detail))
    if len(content.images) < rules.images_min:
        kind = MISSING if not content.images else WRONG
        problems.append(Problem("images", kind, f"{len(content.images)} < {rules.images_min}"))
    elif len(content.images) > rules.images_max:
        problems.append(Problem("images", WRONG, f"{len(content.images)} > {rules.images_max}"))
    elif rules.images_https and any(not url.startswith("https://") for url in content.images):
        problems.append(Problem("images", WRONG, "every image must be an https:// address"))
    if not rules.price_min_vnd <= price_vnd <= rules.price_max_vnd:
        detail = f"{price_vnd} outside {rules.price_min_vnd}..{rules.price_max_vnd} VND"
        problems.append(Problem("price", WRONG, detail))
    return problems


def summary(problems: Iterable[Problem]) -> str:
    """The problems as "missing: a, b; wrong: c" (the drift's observed text)."""
    found = list(problems)
    parts = []
    for kind in (MISSING, WRONG):
        names = [p.field for p in found if p.kind == kind]
        if names:
            parts.append(f"{kind}: {', '.join(names)}")
    return "; ".join(parts)


def details(problems: Iterable[Problem]) -> str:
    """The limits broken, for operators ("title: 300 > 255 chars"); empty when only fields are missing."""
    return "; ".join(f"{p.field}: {p.detail}" for p in problems if p.detail)


def shop_preflight(
    rules: ContentRules, options: Mapping[str, Any], by_set: Mapping[int, Iterable[str]] | None = None
) -> Callable[[ListingContent, int], str]:
    """The plan's pre-flight for one shop: the marketplace's rules, `options.required_attributes`, and the
    attributes the category mapped to the listing's OCOP product set requires (`by_set`, from the category cache)."""
    extra = tuple(str(name) for name in options.get("required_attributes", ()))
    per_set = {key: (*extra, *names) for key, names in (by_set or {}).items()}

    def preflight(content: ListingContent, price_vnd: int) -> str:
        return summary(check(content, price_vnd, rules, per_set.get(content.category_key, extra)))

    return preflight


def parse_summary(text: str) -> dict[str, list[str]]:
    """The inverse of `summary`: {"missing": [...], "wrong": [...]}."""
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        kind, _, names = part.partition(":")
        if kind.strip() in (MISSING, WRONG):
            out[kind.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    return out
