"""The one catalogue of user-facing report and page strings, Vietnamese (default) and English.

Every string a producer or operator reads in a report or page comes from `CATALOGUE`; a test
checks that each key has both languages and the same placeholders in each.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"

_ENTRIES: dict[str, tuple[str, str]] = {
    # --- listing states -------------------------------------------------------------------
    "state.live": ("Đang bán", "Live"),
    "state.pending_review": ("Chờ sàn duyệt", "Pending review"),
    "state.rejected": ("Bị sàn từ chối", "Rejected"),
    "state.inactive": ("Đang ẩn", "Inactive"),
    "state.missing": ("Chưa có trên sàn", "Missing"),
    "state.cert_expired": ("Giấy chứng nhận OCOP hết hạn", "OCOP certificate expired"),
    "state.not_listed": ("Không đăng bán", "Not listed"),
    # --- why a listing is inactive ---------------------------------------------------------
    "inactive.catalog_inactive": (
        "Sản phẩm đang tắt trong danh mục",
        "The product is switched off in the catalog",
    ),
    "inactive.cert_expired": (
        "Giấy chứng nhận OCOP đã hết hạn ngày {date}",
        "The OCOP certificate expired on {date}",
    ),
    "inactive.marketplace": (
        "Sàn đang ẩn sản phẩm (không phải do hệ thống)",
        "The marketplace shows it hidden (not by us)",
    ),
    "inactive.not_shippable": (
        "Dịch vụ du lịch cộng đồng không đăng bán trên sàn",
        "Community-tourism services are not sold on marketplaces",
    ),
    "reason.pending_since": ("Đang chờ duyệt từ {since}", "Waiting for review since {since}"),
    "reason.rejected": ("Sàn từ chối: {reason}", "Rejected by the marketplace: {reason}"),
    "reason.rejected_field": ("Sàn từ chối ({field}): {reason}", "Rejected by the marketplace ({field}): {reason}"),
    "reason.dead_action": ("Cập nhật thất bại: {error}", "Update failed: {error}"),
    # --- next steps, in plain words --------------------------------------------------------
    "next.none": ("Không cần làm gì.", "Nothing to do."),
    "next.auto_update": (
        "Hệ thống sẽ tự cập nhật giá/tồn kho/nội dung ở lần đồng bộ tới.",
        "The service will update price, stock or content at the next sync.",
    ),
    "next.wait_review": (
        "Chờ sàn duyệt. Nếu quá 3 ngày, hãy liên hệ cán bộ phụ trách.",
        "Wait for the marketplace's review. If it takes more than 3 days, contact your operator.",
    ),
    "next.fix_rejected": (
        "Sửa mục «{field}» theo lý do sàn nêu, cập nhật danh mục; hệ thống sẽ gửi lại.",
        "Fix “{field}” as the marketplace asks and update the catalog; the service will resubmit it.",
    ),
    "next.fix_rejected_nofield": (
        "Sửa thông tin sản phẩm theo lý do sàn nêu, cập nhật danh mục; hệ thống sẽ gửi lại.",
        "Fix the product details as the marketplace asks and update the catalog; the service will resubmit it.",
    ),
    "next.renew_cert": (
        "Gia hạn hoặc đánh giá lại giấy chứng nhận OCOP, rồi cập nhật ngày hết hạn mới vào danh mục.",
        "Renew or re-assess the OCOP certificate, then enter the new expiry date in the catalog.",
    ),
    "next.reactivate_in_catalog": (
        "Nếu muốn bán lại, bật sản phẩm trong danh mục.",
        "To sell it again, switch the product back on in the catalog.",
    ),
    "next.will_reactivate": (
        "Hệ thống sẽ bật lại sản phẩm ở lần đồng bộ tới.",
        "The service will switch it back on at the next sync.",
    ),
    "next.will_create": (
        "Hệ thống sẽ đăng sản phẩm lên sàn ở lần đồng bộ tới.",
        "The service will list it at the next sync.",
    ),
    "next.contact_operator": (
        "Cập nhật lên sàn thất bại nhiều lần; hãy liên hệ cán bộ phụ trách.",
        "Updating the marketplace failed repeatedly; contact your operator.",
    ),
    "next.reconnect_shop": (
        "Gian hàng đang mất kết nối; cán bộ phụ trách cần kết nối lại tài khoản sàn.",
        "The shop has lost its connection; the operator must reconnect the marketplace account.",
    ),
    "next.not_listed": ("Không cần làm gì.", "Nothing to do."),
    # --- shop problems ---------------------------------------------------------------------
    "problem.connection_error": (
        "Gian hàng {shop} ({marketplace}) gặp lỗi kết nối: {detail}. Cán bộ phụ trách cần kiểm tra.",
        "Shop {shop} ({marketplace}) has a connection error: {detail}. The operator must check it.",
    ),
    "problem.token_expired": (
        "Quyền truy cập gian hàng {shop} ({marketplace}) đã hết hạn. Cần cấp quyền lại trên sàn.",
        "Access to shop {shop} ({marketplace}) has expired. It must be authorised again on the marketplace.",
    ),
    "problem.token_expiring": (
        "Quyền truy cập gian hàng {shop} ({marketplace}) sắp hết hạn ({date}). Nên cấp quyền lại sớm.",
        "Access to shop {shop} ({marketplace}) expires soon ({date}). Authorise it again soon.",
    ),
    "problem.never_synced": (
        "Gian hàng {shop} ({marketplace}) chưa đồng bộ thành công lần nào.",
        "Shop {shop} ({marketplace}) has never synced successfully.",
    ),
    # --- certificate states ----------------------------------------------------------------
    "cert.valid": ("Còn hiệu lực", "Valid"),
    "cert.expiring": ("Sắp hết hạn", "Expiring soon"),
    "cert.expired": ("Đã hết hạn", "Expired"),
    "cert.days_left": ("còn {days} ngày", "{days} days left"),
    "cert.days_ago": ("hết hạn {days} ngày trước", "expired {days} days ago"),
    # --- drift kinds -----------------------------------------------------------------------
    "drift.missing": ("Thiếu trên sàn", "Missing on marketplace"),
    "drift.orphan": ("Có trên sàn, không có trong danh mục", "On marketplace, not in catalog"),
    "drift.price": ("Sai giá", "Price differs"),
    "drift.stock": ("Sai tồn kho", "Stock differs"),
    "drift.content": ("Sai nội dung", "Content differs"),
    "drift.status": ("Sai trạng thái", "Status differs"),
    "drift.qc_pending": ("Chờ duyệt", "Pending review"),
    "drift.qc_rejected": ("Bị từ chối", "Rejected"),
    "drift.cert_expired": ("Giấy chứng nhận hết hạn", "Certificate expired"),
    "drift.invalid": ("Thiếu hoặc sai thông tin, chưa gửi lên sàn", "Missing or wrong details, not sent"),
    # --- pre-flight: what a producer must add or fix before a listing is sent ---------------
    "invalid.missing": ("thiếu: {fields}", "missing: {fields}"),
    "invalid.wrong": ("cần sửa: {fields}", "to fix: {fields}"),
    "next.fix_invalid": (
        "Bổ sung hoặc sửa các thông tin trên trong danh mục; lần đồng bộ sau sẽ đăng sản phẩm.",
        "Add or fix the details above in the catalog; the next sync will list the product.",
    ),
    "field.brand": ("thương hiệu", "brand"),
    "field.origin": ("xuất xứ", "origin"),
    "field.shelf_life": ("hạn sử dụng", "shelf life"),
    "field.storage": ("cách bảo quản", "storage"),
    "field.ingredients": ("thành phần", "ingredients"),
    "field.title": ("tên sản phẩm", "title"),
    "field.description": ("mô tả", "description"),
    "field.images": ("hình ảnh", "images"),
    "field.price": ("giá", "price"),
    # --- report titles and sections --------------------------------------------------------
    "title.producer": ("Tình trạng sản phẩm trên sàn — {name}", "Marketplace listing status — {name}"),
    "title.drift": ("Báo cáo chênh lệch danh mục và sàn", "Catalog vs marketplace drift report"),
    "title.runs": ("Lịch sử đồng bộ", "Sync run history"),
    "title.dashboard": ("Bảng điều khiển ocop-sync", "ocop-sync dashboard"),
    "title.login": ("Đăng nhập", "Sign in"),
    "section.summary": ("Tóm tắt", "Summary"),
    "section.products": ("Sản phẩm", "Products"),
    "section.listings": ("Tình trạng trên từng sàn", "Status on each marketplace"),
    "section.certificates": ("Giấy chứng nhận OCOP cần chú ý", "OCOP certificates needing attention"),
    "section.shop_problems": ("Sự cố kết nối gian hàng", "Shop connection problems"),
    "section.open_drift": ("Chênh lệch đang mở", "Open drift"),
    "section.drift_groups": ("Theo loại, gian hàng và chủ thể", "By kind, shop and producer"),
    "section.resolved": ("Đã khắc phục từ {since}", "Resolved since {since}"),
    "section.dead_actions": ("Thao tác thất bại cần xử lý", "Dead actions needing a person"),
    "section.silent_failures": (
        "Lỗi im lặng (sàn báo thành công nhưng không đổi)",
        "Silent failures (acknowledged, not applied)",
    ),
    "section.shops": ("Gian hàng", "Shops"),
    "section.runs": ("Các lần đồng bộ gần đây", "Recent runs"),
    "section.drift_by_kind": ("Chênh lệch đang mở theo loại", "Open drift by kind"),
    "section.drift_chart": ("Chênh lệch theo ngày", "Drift over time"),
    "none": ("Không có.", "None."),
    "generated_at": ("Lập lúc {at}", "Generated {at}"),
    "producer_line": ("Chủ thể: {name} ({id}) — {province}", "Producer: {name} ({id}) — {province}"),
    "cert_window": (
        "Cảnh báo giấy chứng nhận hết hạn trong vòng {days} ngày.",
        "Warning for certificates expiring within {days} days.",
    ),
    "shared_shop": ("gian hàng chung của tỉnh", "shared provincial shop"),
    "chart.opened": ("Mới phát sinh", "Opened"),
    "chart.resolved": ("Đã khắc phục", "Resolved"),
    "chart.open": ("Đang mở cuối ngày", "Open at end of day"),
    "chart.empty": ("Chưa có dữ liệu.", "No data yet."),
    "lang.switch": ("English", "Tiếng Việt"),
    # --- column headers --------------------------------------------------------------------
    "col.section": ("Phần", "Section"),
    "col.sku": ("Mã SKU", "SKU"),
    "col.product": ("Sản phẩm", "Product"),
    "col.stars": ("Số sao", "Stars"),
    "col.shop": ("Gian hàng", "Shop"),
    "col.marketplace": ("Sàn", "Marketplace"),
    "col.state": ("Tình trạng", "Status"),
    "col.since": ("Từ lúc", "Since"),
    "col.reason": ("Lý do", "Reason"),
    "col.field": ("Mục", "Field"),
    "col.price": ("Giá (VND)", "Price (VND)"),
    "col.price_catalog": ("Giá danh mục", "Catalog price"),
    "col.price_sent": ("Giá đã gửi", "Price sent"),
    "col.price_observed": ("Giá trên sàn", "Price on marketplace"),
    "col.stock": ("Tồn kho", "Stock"),
    "col.stock_catalog": ("Tồn danh mục", "Catalog stock"),
    "col.stock_sent": ("Tồn đã gửi", "Stock sent"),
    "col.stock_observed": ("Tồn trên sàn", "Stock on marketplace"),
    "col.last_success": ("Đồng bộ thành công gần nhất", "Last successful sync"),
    "col.next_step": ("Việc cần làm", "Next step"),
    "col.certificate": ("Giấy chứng nhận", "Certificate"),
    "col.valid_until": ("Hiệu lực đến", "Valid until"),
    "col.days_left": ("Số ngày còn lại", "Days left"),
    "col.problem": ("Sự cố", "Problem"),
    "col.kind": ("Loại", "Kind"),
    "col.producer": ("Chủ thể", "Producer"),
    "col.expected": ("Mong đợi", "Expected"),
    "col.observed": ("Trên sàn", "Observed"),
    "col.first_seen": ("Phát hiện lúc", "First seen"),
    "col.age": ("Đã kéo dài", "Age"),
    "col.resolved_at": ("Khắc phục lúc", "Resolved at"),
    "col.count": ("Số lượng", "Count"),
    "col.action": ("Thao tác", "Action"),
    "col.attempts": ("Số lần thử", "Attempts"),
    "col.error": ("Lỗi", "Error"),
    "col.run": ("Lần chạy", "Run"),
    "col.trigger": ("Khởi động bởi", "Trigger"),
    "col.started": ("Bắt đầu", "Started"),
    "col.duration": ("Thời gian", "Duration"),
    "col.outcome": ("Kết quả", "Outcome"),
    "col.writes": ("Lượt ghi", "Writes"),
    "col.open_drift": ("Chênh lệch mở", "Open drift"),
    "col.pending": ("Chờ xử lý", "Pending"),
    "col.dead": ("Thất bại", "Dead"),
    "col.token_expires": ("Quyền truy cập hết hạn", "Access expires"),
    "col.last_error": ("Lỗi gần nhất", "Last error"),
    "section.open": ("đang mở", "open"),
    "section.resolved_short": ("đã khắc phục", "resolved"),
    "section.dead": ("thất bại", "dead"),
    "section.silent": ("lỗi im lặng", "silent failure"),
    "age.days": ("{n} ngày", "{n} d"),
    "age.hours": ("{n} giờ", "{n} h"),
    "age.minutes": ("{n} phút", "{n} min"),
    # --- pages -----------------------------------------------------------------------------
    "login.prompt": (
        "Dán mã truy cập (token) được cấp cho bạn để xem báo cáo.",
        "Paste the access token you were given to see your report.",
    ),
    "login.token": ("Mã truy cập", "Access token"),
    "login.submit": ("Đăng nhập", "Sign in"),
    "login.invalid": ("Mã truy cập không hợp lệ hoặc đã bị thu hồi.", "The token is invalid or revoked."),
    "logout": ("Đăng xuất", "Sign out"),
    "error.unauthorized": ("Cần đăng nhập.", "Sign-in required."),
    "error.forbidden": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "error.not_found": ("Không tìm thấy.", "Not found."),
    "email.subject": ("Báo cáo sản phẩm OCOP trên sàn — {name} — {day}", "OCOP marketplace report — {name} — {day}"),
    "email.body": (
        "Kính gửi {name},\n\nĐính kèm báo cáo tình trạng sản phẩm OCOP của quý đơn vị trên các sàn "
        "thương mại điện tử ngày {day}.\n{summary}\n\nThư gửi tự động từ ocop-sync.",
        "Dear {name},\n\nAttached is the status of your OCOP products on the marketplaces on {day}.\n"
        "{summary}\n\nSent automatically by ocop-sync.",
    ),
}

CATALOGUE: Mapping[str, Mapping[Lang, str]] = MappingProxyType(
    {key: MappingProxyType({"vi": vi, "en": en}) for key, (vi, en) in _ENTRIES.items()}
)
del _ENTRIES


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
