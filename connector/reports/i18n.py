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
    # --- enum values shown to people (run kinds, triggers, outcomes, actions, listing values) ---
    "run_kind.incremental": ("Đồng bộ nhanh (phần thay đổi)", "Incremental"),
    "run_kind.full": ("Đồng bộ toàn bộ", "Full"),
    "trigger.schedule": ("Theo lịch", "Schedule"),
    "trigger.manual": ("Yêu cầu thủ công", "Manual"),
    "trigger.catalog_change": ("Danh mục thay đổi", "Catalog change"),
    "outcome.running": ("Đang chạy", "Running"),
    "outcome.converged": ("Đã khớp hoàn toàn", "Converged"),
    "outcome.partial": ("Khớp một phần", "Partial"),
    "outcome.dead_actions": ("Có thao tác thất bại", "Dead actions"),
    "outcome.blocked": ("Bị chặn bởi cơ chế an toàn", "Blocked by a safety guard"),
    "outcome.failed": ("Thất bại", "Failed"),
    "outcome.interrupted": ("Bị gián đoạn", "Interrupted"),
    "action.create": ("Đăng sản phẩm mới", "Create listing"),
    "action.update_content": ("Cập nhật nội dung", "Update content"),
    "action.set_price_stock": ("Cập nhật giá và tồn kho", "Set price and stock"),
    "action.deactivate": ("Ẩn sản phẩm", "Deactivate"),
    "action.reactivate": ("Bật lại sản phẩm", "Reactivate"),
    "action_state.pending": ("Chờ thực hiện", "Pending"),
    "action_state.in_flight": ("Đang gửi", "In flight"),
    "action_state.done": ("Đã xong", "Done"),
    "action_state.failed": ("Thất bại tạm thời", "Failed (will retry)"),
    "action_state.dead": ("Thất bại, cần người xử lý", "Dead (needs a person)"),
    "action_state.superseded": ("Không còn cần", "Superseded"),
    "value.listed": ("Có trên sàn", "Listed"),
    "value.active": ("Đang bán", "Active"),
    "value.inactive": ("Đang ẩn", "Inactive"),
    "value.deleted": ("Đã xoá", "Deleted"),
    "value.approved": ("Đã duyệt", "Approved"),
    "value.pending": ("Chờ duyệt", "Pending"),
    "value.rejected": ("Bị từ chối", "Rejected"),
    "value.ok": ("Thành công", "OK"),
    "value.failed": ("Thất bại", "Failed"),
    "tick.pending": ("Chờ chạy", "Pending"),
    "tick.running": ("Đang chạy", "Running"),
    "tick.done": ("Đã xong", "Done"),
    "tick.failed": ("Thất bại", "Failed"),
    "tick.error": ("Lỗi khi chạy", "Error"),
    "tick.deadline": ("Quá thời hạn", "Deadline exceeded"),
    "tick.stale": ("Mất quyền xử lý gian hàng", "Lease lost"),
    "problem_kind.connection_error": ("Lỗi kết nối", "Connection error"),
    "problem_kind.token_expired": ("Hết quyền truy cập", "Access expired"),
    "problem_kind.token_expiring": ("Sắp hết quyền truy cập", "Access expiring"),
    "problem_kind.never_synced": ("Chưa đồng bộ lần nào", "Never synced"),
    # --- catalog field names, as a producer knows them --------------------------------------
    "field.images": ("Hình ảnh sản phẩm", "product images"),
    "field.name": ("Tên sản phẩm", "product name"),
    "field.description": ("Mô tả sản phẩm", "product description"),
    "field.price": ("Giá bán", "price"),
    "field.price_vnd": ("Giá bán", "price"),
    "field.stock": ("Tồn kho", "stock"),
    "field.category": ("Ngành hàng", "category"),
    "field.certificate": ("Giấy chứng nhận OCOP", "OCOP certificate"),
    "field.brand": ("Thương hiệu", "brand"),
    "field.weight": ("Khối lượng", "weight"),
    "field.weight_g": ("Khối lượng", "weight"),
    "field.package": ("Quy cách đóng gói", "packaging"),
    "field.unit": ("Đơn vị tính", "unit"),
    "field.ingredients": ("Thành phần", "ingredients"),
    "field.expiry": ("Hạn sử dụng", "shelf life"),
    "field.shelf_life_days": ("Hạn sử dụng", "shelf life"),
    "field.origin": ("Xuất xứ", "origin"),
    "field.title": ("Tên sản phẩm", "product name"),
    "field.attributes": ("Thuộc tính sản phẩm", "product attributes"),
    "field.barcode": ("Mã vạch", "barcode"),
    "field.sku": ("Mã SKU", "SKU"),
    # --- producer page ----------------------------------------------------------------------
    "summary.counts": (
        "{products} sản phẩm · {listings} lượt đăng bán (mỗi sản phẩm trên mỗi gian hàng)",
        "{products} products · {listings} listings (each product on each shop)",
    ),
    "summary.listings_by_state": ("Lượt đăng bán theo tình trạng", "Listings by status"),
    "summary.needs_action": (
        "{n} sản phẩm cần bạn xử lý — xem ở đầu danh sách.",
        "{n} products need your action — listed first below.",
    ),
    "section.needs_action": ("Cần xử lý", "Needs action"),
    # --- drift page -------------------------------------------------------------------------
    "drift.page": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "drift.prev": ("← Trang trước", "← Previous"),
    "drift.next": ("Trang sau →", "Next →"),
    "drift.filter": ("Lọc", "Filter"),
    "drift.all_kinds": ("Mọi loại", "All kinds"),
    "drift.all_shops": ("Mọi gian hàng", "All shops"),
    "drift.showing": ("Hiển thị {first}–{last} trên {total}", "Showing {first}–{last} of {total}"),
    "drift.resolved_by_day": ("Đã khắc phục theo ngày và loại", "Resolved by day and kind"),
    "col.day": ("Ngày", "Day"),
    "drift.invalid": ("Thiếu hoặc sai thông tin, chưa gửi lên sàn", "Missing or wrong details, not sent"),
    # --- pre-flight: what a producer must add or fix before a listing is sent ---------------
    "invalid.missing": ("thiếu: {fields}", "missing: {fields}"),
    "invalid.wrong": ("cần sửa: {fields}", "to fix: {fields}"),
    "next.fix_invalid": (
        "Bổ sung hoặc sửa các thông tin trên trong danh mục; lần đồng bộ sau sẽ đăng sản phẩm.",
        "Add or fix the details above in the catalog; the next sync will list the product.",
    ),
    "field.shelf_life": ("hạn sử dụng", "shelf life"),
    "field.storage": ("cách bảo quản", "storage"),
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
    "login.csrf": (
        "Biểu mẫu đăng nhập không đến từ trang này; hãy đăng nhập lại tại đây.",
        "The sign-in form did not come from this site; sign in again here.",
    ),
    "logout": ("Đăng xuất", "Sign out"),
    "error.forbidden_producer": (
        "Trang này dành cho cán bộ phụ trách. Bạn có thể xem trang của mình.",
        "This page is for operators. You can see your own page.",
    ),
    "error.own_page": ("Đến trang của tôi", "Go to my page"),
    "error.unauthorized": ("Cần đăng nhập.", "Sign-in required."),
    # --- stock ledger (`ocop-sync report stock SKU`) ------------------------------------------
    "stock.title": ("Tồn kho {sku} — {name}", "Stock of {sku} — {name}"),
    "stock.now": ("Tồn kho hiện tại: {stock}", "Stock now: {stock}"),
    "stock.opening": (
        "Tồn kho trước các biến động ghi nhận: {opening}",
        "Stock before the recorded movements: {opening}",
    ),
    "stock.none": ("Chưa có biến động nào được ghi nhận.", "No movement recorded yet."),
    "stock.header": ("Thời điểm | Loại | Thay đổi | Còn lại | Nguồn", "When | Kind | Change | After | Source"),
    "stock.total": ("Tổng {kind}: {delta}", "Total {kind}: {delta}"),
    "stock.unknown": ("Không có SKU {sku} trong danh mục.", "SKU {sku} is not in the catalog."),
    "stock.kind.sale": ("bán", "sale"),
    "stock.kind.cancel": ("huỷ đơn", "cancel"),
    "stock.kind.return": ("trả hàng", "return"),
    "stock.kind.manual": ("chỉnh tay", "manual correction"),
    "stock.kind.import": ("nhập danh mục", "import"),
    "stock.source.order": ("gian hàng {shop}, đơn {order}, dòng {line}", "shop {shop}, order {order}, line {line}"),
    "error.forbidden": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "error.not_found": ("Không tìm thấy.", "Not found."),
    "email.subject": ("Báo cáo sản phẩm OCOP trên sàn — {name} — {day}", "OCOP marketplace report — {name} — {day}"),
    "email.body": (
        "Kính gửi {name},\n\nĐính kèm báo cáo tình trạng sản phẩm OCOP của quý đơn vị trên các sàn "
        "thương mại điện tử ngày {day}.\n{summary}\n\nThư gửi tự động từ ocop-sync.",
        "Dear {name},\n\nAttached is the status of your OCOP products on the marketplaces on {day}.\n"
        "{summary}\n\nSent automatically by ocop-sync.",
    ),
    # --- command line: a busy or unreachable database ---------------------------------------
    "cli.db_waiting": (
        "Cơ sở dữ liệu đang bận (tiến trình khác đang ghi), chờ tối đa {seconds} giây…",
        "database busy (another process is writing), waiting up to {seconds} s…",
    ),
    "cli.db_busy": (
        "Lỗi: cơ sở dữ liệu vẫn bị khóa sau {seconds} giây; hãy thử lại sau (database.lock_timeout_s)",
        "error: the database is still locked after {seconds} s; try again later (database.lock_timeout_s)",
    ),
    "cli.db_unavailable": (
        "Lỗi: không dùng được cơ sở dữ liệu: {error}",
        "error: cannot use the database: {error}",
    ),
}

# --- operator CLI: shop health, run history, catalog import conflicts (printed as "vi / en") -----
_CLI_ENTRIES: dict[str, tuple[str, str]] = {
    "health.ok": ("ổn", "ok"),
    "health.degraded": ("chưa trọn vẹn", "degraded"),
    "health.failing": ("đang lỗi", "failing"),
    "health.stalled": ("đình trệ", "stalled"),
    "health.needs_reconnect": ("cần kết nối lại", "needs reconnect"),
    "health.never_run": ("chưa chạy", "never run"),
    "health.disabled": ("tắt", "disabled"),
    "health.hint.needs_reconnect": (
        "đặt lại {envs} rồi chạy: ocop-sync resync --shop {shop}",
        "set {envs} again, then run: ocop-sync resync --shop {shop}",
    ),
    "health.hint.failing": ("{n} lượt lỗi liên tiếp: {error}", "{n} failed run(s) in a row: {error}"),
    "health.hint.stalled": ("không có lượt thành công từ {since}", "no successful run since {since}"),
    "health.hint.dead": ("{n} thao tác hỏng cần người xử lý", "{n} dead action(s) need a person"),
    "health.hint.token": ("ủy quyền hết hạn {date}", "authorisation expires {date}"),
    "cli.times": ("giờ", "times"),
    "cli.none": ("không có", "none"),
    "cli.leader": ("Leader lập lịch", "scheduler leader"),
    "cli.status.title": ("Tình trạng gian hàng", "shop status"),
    "cli.runs.title": ("Lượt đồng bộ gần đây", "recent sync runs"),
    "cli.requests.title": ("Yêu cầu đồng bộ lại", "resync requests"),
    "cli.col.shop": ("gian hàng", "shop"),
    "cli.col.state": ("trạng thái", "state"),
    "cli.col.last_success": ("thành công cuối", "last success"),
    "cli.col.last_outcome": ("kết quả cuối", "last outcome"),
    "cli.col.drift": ("sai lệch mở", "open drift"),
    "cli.col.pending": ("chờ", "pending"),
    "cli.col.dead": ("hỏng", "dead"),
    "cli.col.token": ("ủy quyền hết hạn", "authorisation expires"),
    "cli.col.lease": ("đang giữ", "lease"),
    "cli.col.kind": ("loại", "kind"),
    "cli.col.trigger": ("kích hoạt", "trigger"),
    "cli.col.started": ("bắt đầu", "started"),
    "cli.col.finished": ("kết thúc", "finished"),
    "cli.col.outcome": ("kết quả", "outcome"),
    "cli.col.counters": ("đếm", "counters"),
    "cli.col.skus": ("số SKU", "SKUs covered"),
    "cli.col.requested": ("yêu cầu lúc", "requested"),
    "cli.col.row": ("dòng", "row"),
    "cli.col.column": ("cột", "column"),
    "cli.col.exported": ("lúc xuất", "exported"),
    "cli.col.now": ("hiện tại", "now"),
    "cli.col.file": ("trong tệp", "your file"),
    "cli.col.reason": ("lý do", "reason"),
    "cli.conflicts.title": ("Các dòng xung đột (đã đổi từ lúc xuất)", "conflicting rows (changed since the export)"),
    "cli.conflicts.since": ("Đã đổi từ lúc xuất", "changed since the export"),
    "cli.conflicts.nothing": ("Không nhập gì: {n} xung đột", "nothing imported: {n} conflict(s)"),
    "cli.conflicts.hint": (
        "Xuất lại danh mục và sửa trên tệp mới, hoặc dùng --on-conflict merge để cộng phần bạn sửa tồn kho "
        "vào tồn kho hiện tại.",
        "Export the catalog again and edit the new file, or use --on-conflict merge to apply your stock "
        "changes to today's stock.",
    ),
}

CATALOGUE: Mapping[str, Mapping[Lang, str]] = MappingProxyType(
    {key: MappingProxyType({"vi": vi, "en": en}) for key, (vi, en) in {**_ENTRIES, **_CLI_ENTRIES}.items()}
)
del _ENTRIES, _CLI_ENTRIES


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
