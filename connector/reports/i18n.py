"""The one catalogue of user-facing report and page strings, Vietnamese (default) and English.

Every string a producer or operator reads in a report, page or CLI table comes from `CATALOGUE` (the words
themselves live in `i18n_reports` and `i18n_cli`); a test
checks that each key has both languages and the same placeholders in each.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from connector.reports.i18n_cli import CLI_ENTRIES
from connector.reports.i18n_reports import REPORT_ENTRIES

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"

# reports and pages, then the operator CLI (shop health, run history, import conflicts; printed "vi / en")
CATALOGUE: Mapping[str, Mapping[Lang, str]] = MappingProxyType(
    {key: MappingProxyType({"vi": vi, "en": en}) for key, (vi, en) in {**REPORT_ENTRIES, **CLI_ENTRIES}.items()}
)


class UnknownLanguageError(ValueError):
    """A language other than vi or en was asked for."""


def parse_lang(value: str) -> Lang:
    """`value` as a supported language, or UnknownLanguageError."""
    if value not in LANGS:
        raise UnknownLanguageError(f"language must be one of {', '.join(LANGS)}, got {value!r}")
    return "vi" if value == "vi" else "en"


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders used in a catalogue string."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Translator:
    """Looks strings up in the catalogue for one language; `t("key", name=...)`."""

    lang: Lang = DEFAULT_LANG

    def __call__(self, key: str, /, **values: object) -> str:
        """The string for `key` in this language, with `values` filled in; KeyError if unknown."""
        text = CATALOGUE[key][self.lang]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """True when the catalogue knows `key`."""
        return key in CATALOGUE

    def value(self, prefix: str, value: object) -> str:
        """A coded value in words (`prefix.value` in the catalogue), or the value itself when unknown."""
        text = "" if value is None else str(getattr(value, "value", value))
        key = f"{prefix}.{text}"
        return self(key) if key in CATALOGUE else text

    def field(self, name: str) -> str:
        """A catalog field's human label (`images` → "Hình ảnh sản phẩm"); the name itself if unknown."""
        return self.value("field", name) if name else name


def bilingual(key: str, /, **values: object) -> str:
    """The string for `key` as "Vietnamese / English" (once when both are the same), for the operator CLI."""
    vi, en = Translator("vi")(key, **values), Translator("en")(key, **values)
    return vi if vi == en else f"{vi} / {en}"
