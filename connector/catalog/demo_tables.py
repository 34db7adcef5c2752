"""The demo catalog's source tables: An Giang's OCOP producers and their products (data only).

Each producer entry names its place (a key of `PLACES`) and its items; `demo_data` turns these
rows into validated `Producer` and `Product` records relative to a reference day.
"""

from __future__ import annotations

from datetime import date

from schemas.catalog import ProducerType

PROVINCE = "An Giang"
EXPIRED_SKUS = ("AG-0008", "AG-0031", "AG-0054", "AG-0077")  # certificates lapsed before the reference day
EXPIRING_SKUS = ("AG-0015", "AG-0038", "AG-0061", "AG-0084")  # certificates lapsing within 60 days
CRITERIA_148_FROM = date(2023, 2, 24)
DISTRICTS_ABOLISHED = date(2025, 7, 1)

# place key -> (commune as certified, district as certified, commune since the July 2025 merger)
PLACES: dict[str, tuple[str, str, str]] = {
    "van_giao": ("Xã Văn Giáo", "Thị xã Tịnh Biên", "Phường Tịnh Biên"),
    "tan_loi": ("Xã Tân Lợi", "Thị xã Tịnh Biên", "Phường Tịnh Biên"),
    "an_cu": ("Xã An Cư", "Thị xã Tịnh Biên", "Phường Tịnh Biên"),
    "an_hao": ("Xã An Hảo", "Thị xã Tịnh Biên", "Xã Núi Cấm"),
    "nha_bang": ("Phường Nhà Bàng", "Thị xã Tịnh Biên", "Phường Thới Sơn"),
    "nhon_hung": ("Phường Nhơn Hưng", "Thị xã Tịnh Biên", "Phường Thới Sơn"),
    "tan_lap": ("Xã Tân Lập", "Thị xã Tịnh Biên", "Phường Chi Lăng"),
    "tri_ton": ("Thị trấn Tri Tôn", "Huyện Tri Tôn", "Xã Tri Tôn"),
    "luong_phi": ("Xã Lương Phi", "Huyện Tri Tôn", "Xã Ba Chúc"),
    "chau_lang": ("Xã Châu Lăng", "Huyện Tri Tôn", "Xã Tri Tôn"),
    "o_lam": ("Xã Ô Lâm", "Huyện Tri Tôn", "Xã Ô Lâm"),
    "le_tri": ("Xã Lê Trì", "Huyện Tri Tôn", "Xã Ba Chúc"),
    "co_to": ("Xã Cô Tô", "Huyện Tri Tôn", "Xã Cô Tô"),
    "nui_to": ("Xã Núi Tô", "Huyện Tri Tôn", "Xã Cô Tô"),
    "an_tuc": ("Xã An Tức", "Huyện Tri Tôn", "Xã Ô Lâm"),
    "chau_phu_b": ("Phường Châu Phú B", "Thành phố Châu Đốc", "Phường Châu Đốc"),
    "chau_phu_a": ("Phường Châu Phú A", "Thành phố Châu Đốc", "Phường Châu Đốc"),
    "nui_sam": ("Phường Núi Sam", "Thành phố Châu Đốc", "Phường Vĩnh Tế"),
    "vinh_my": ("Phường Vĩnh Mỹ", "Thành phố Châu Đốc", "Phường Châu Đốc"),
    "long_phu": ("Phường Long Phú", "Thị xã Tân Châu", "Phường Long Phú"),
    "long_thanh": ("Phường Long Thạnh", "Thị xã Tân Châu", "Phường Tân Châu"),
    "long_chau": ("Phường Long Châu", "Thị xã Tân Châu", "Phường Tân Châu"),
    "long_son": ("Phường Long Sơn", "Thị xã Tân Châu", "Phường Long Phú"),
    "chau_phong": ("Xã Châu Phong", "Thị xã Tân Châu", "Xã Châu Phong"),
    "phu_vinh": ("Xã Phú Vĩnh", "Thị xã Tân Châu", "Xã Châu Phong"),
    "binh_khanh": ("Phường Bình Khánh", "Thành phố Long Xuyên", "Phường Bình Đức"),
    "my_thoi": ("Phường Mỹ Thới", "Thành phố Long Xuyên", "Phường Mỹ Thới"),
    "my_binh": ("Phường Mỹ Bình", "Thành phố Long Xuyên", "Phường Long Xuyên"),
    "my_phuoc": ("Phường Mỹ Phước", "Thành phố Long Xuyên", "Phường Long Xuyên"),
    "my_long": ("Phường Mỹ Long", "Thành phố Long Xuyên", "Phường Long Xuyên"),
    "my_hoa_hung": ("Xã Mỹ Hòa Hưng", "Thành phố Long Xuyên", "Xã Mỹ Hòa Hưng"),
    "oc_eo": ("Thị trấn Óc Eo", "Huyện Thoại Sơn", "Xã Óc Eo"),
    "phu_hoa": ("Thị trấn Phú Hòa", "Huyện Thoại Sơn", "Xã Thoại Sơn"),
    "vong_the": ("Xã Vọng Thê", "Huyện Thoại Sơn", "Xã Óc Eo"),
    "vinh_chanh": ("Xã Vĩnh Chánh", "Huyện Thoại Sơn", "Xã Định Mỹ"),
    "tan_my": ("Xã Tấn Mỹ", "Huyện Chợ Mới", "Xã Cù Lao Giêng"),
    "kien_an": ("Xã Kiến An", "Huyện Chợ Mới", "Xã Chợ Mới"),
    "long_giang": ("Xã Long Giang", "Huyện Chợ Mới", "Xã Chợ Mới"),
    "hoa_binh": ("Xã Hòa Bình", "Huyện Chợ Mới", "Xã Hội An"),
    "hoa_an": ("Xã Hòa An", "Huyện Chợ Mới", "Xã Hội An"),
    "phu_binh": ("Xã Phú Bình", "Huyện Phú Tân", "Xã Phú Tân"),
    "phu_hiep": ("Xã Phú Hiệp", "Huyện Phú Tân", "Xã Phú Tân"),
    "cho_vam": ("Thị trấn Chợ Vàm", "Huyện Phú Tân", "Xã Chợ Vàm"),
    "phu_tho": ("Xã Phú Thọ", "Huyện Phú Tân", "Xã Phú An"),
    "phu_thanh": ("Xã Phú Thạnh", "Huyện Phú Tân", "Xã Phú An"),
    "phu_my": ("Thị trấn Phú Mỹ", "Huyện Phú Tân", "Xã Phú Tân"),
    "khanh_binh": ("Xã Khánh Bình", "Huyện An Phú", "Xã Khánh Bình"),
    "nhon_hoi": ("Xã Nhơn Hội", "Huyện An Phú", "Xã Nhơn Hội"),
    "vinh_truong": ("Xã Vĩnh Trường", "Huyện An Phú", "Xã An Phú"),
    "phu_huu": ("Xã Phú Hữu", "Huyện An Phú", "Xã Phú Hữu"),
    "my_phu": ("Xã Mỹ Phú", "Huyện Châu Phú", "Xã Châu Phú"),
    "my_duc": ("Xã Mỹ Đức", "Huyện Châu Phú", "Xã Mỹ Đức"),
    "vinh_thanh": ("Xã Vĩnh Thành", "Huyện Châu Thành", "Xã Châu Thành"),
    "binh_hoa": ("Xã Bình Hòa", "Huyện Châu Thành", "Xã Bình Hòa"),
    "vinh_hanh": ("Xã Vĩnh Hanh", "Huyện Châu Thành", "Xã Vĩnh Hanh"),
    "an_hoa": ("Xã An Hòa", "Huyện Châu Thành", "Xã An Châu"),
}

# An item: (name, product set, stars, unit, price VND, net weight g); stars "4+" = 4 stars, potential 5.
Item = tuple[str, int, str, str, int, int]

# (id, type, name, place key, contact name, items)
PRODUCERS: tuple[tuple[str, ProducerType, str, str, str, tuple[Item, ...]], ...] = (
    ("AG-HTX-01", ProducerType.COOPERATIVE, "Hợp tác xã Dệt thổ cẩm Khmer Văn Giáo", "van_giao", "Néang Sóc Phi", (
        ("Sà rông Khmer thổ cẩm Văn Giáo", 22, "3", "cái", 450_000, 600),
        ("Khăn choàng thổ cẩm Khmer", 22, "3", "cái", 180_000, 200),
    )),
    ("AG-HTX-02", ProducerType.COOPERATIVE, "Hợp tác xã Nông nghiệp Tân Tiến", "luong_phi", "Chau Sóc Kha", (
        ("Nước mắm cá linh Tân Tiến", 9, "3", "chai 500ml", 65_000, 600),
        ("Gạo Nàng Nhen thơm Bảy Núi", 3, "3", "túi 5kg", 175_000, 5000),
    )),
    ("AG-HTX-03", ProducerType.COOPERATIVE, "Hợp tác xã Nông nghiệp Mỹ Phú", "my_phu", "Nguyễn Văn Tâm", (
        ("Gạo thơm Jasmine Mỹ Phú", 3, "4", "túi 5kg", 135_000, 5000),
        ("Gạo nếp than Mỹ Phú", 3, "3", "túi 2kg", 90_000, 2000),
    )),
    ("AG-HTX-04", ProducerType.COOPERATIVE, "Hợp tác xã Du lịch cộng đồng Cù Lao Giêng", "tan_my", "Trần Thị Hoa", (
        ("Tour du lịch cộng đồng Cù Lao Giêng một ngày", 26, "3", "khách", 350_000, 0),
    )),
    ("AG-HTX-05", ProducerType.COOPERATIVE, "Hợp tác xã Nấm rơm Phú Bình", "phu_binh", "Lê Văn Phúc", (
        ("Nấm rơm tươi Phú Bình", 1, "3", "hộp 500g", 60_000, 500),
    )),
    ("AG-THT-01", ProducerType.COOPERATIVE_GROUP, "Tổ hợp tác Đan đát lục bình Phú Hiệp", "phu_hiep", "Võ Thị Lài", (
        ("Giỏ đan lục bình Phú Hiệp", 21, "3", "cái", 120_000, 400),
    )),
    ("AG-DN-01", ProducerType.ENTERPRISE, "Công ty Cổ phần Palmania", "tri_ton", "Nguyễn Thị Thủy", (
        ("Đường thốt nốt bột Palmania", 4, "5", "hũ 400g", 95_000, 400),
        ("Đường thốt nốt sệt Palmania", 4, "4+", "hũ 500g", 85_000, 500),
        ("Nước thốt nốt tươi Palmania", 17, "3", "chai 330ml", 25_000, 350),
        ("Rượu vang thốt nốt Palmania", 15, "3", "chai 750ml", 220_000, 1200),
    )),
    ("AG-DN-02", ProducerType.ENTERPRISE, "Công ty TNHH MTV Phát triển Đặc sản vùng miền Trần Gia", "tan_loi",
     "Trần Văn Gia", (
        ("Đường thốt nốt cô đặc MOUN7AINS", 4, "5", "chai 350g", 110_000, 450),
        ("Caramel thốt nốt Trần Gia", 7, "4", "hũ 250g", 75_000, 300),
        ("Rượu vang thốt nốt Trần Gia 12%", 15, "4", "chai 750ml", 250_000, 1200),
    )),
    ("AG-DN-03", ProducerType.ENTERPRISE, "Công ty TNHH Sản xuất - Thương mại Thanh Hồ", "long_thanh", "Hồ Thanh Sơn", (
        ("Tương hột Thanh Hồ", 9, "4+", "hũ 500g", 45_000, 550),
        ("Tương xay Thanh Hồ", 9, "4", "hũ 500g", 45_000, 550),
    )),
    ("AG-DN-04", ProducerType.ENTERPRISE, "Công ty TNHH MTV Thương mại Dịch vụ Thảo An Khang", "binh_khanh",
     "Phan Thị Thảo", (
        ("Trà xạ đen túi lọc Thảo An Khang", 12, "3", "hộp 25 túi", 85_000, 75),
    )),
    ("AG-DN-05", ProducerType.ENTERPRISE, "Công ty TNHH Thực phẩm Bảy Núi", "nha_bang", "Lâm Minh Hiếu", (
        ("Khô bò thốt nốt Bảy Núi", 8, "4", "túi 250g", 150_000, 250),
    )),
    ("AG-DN-06", ProducerType.ENTERPRISE, "Công ty Cổ phần Lương thực Óc Eo Xanh", "oc_eo", "Đặng Quốc Bảo", (
        ("Gạo ST25 Óc Eo", 3, "4", "túi 5kg", 190_000, 5000),
        ("Bún gạo khô Óc Eo", 6, "3", "gói 500g", 35_000, 500),
    )),
    ("AG-DN-07", ProducerType.ENTERPRISE, "Công ty TNHH Chả cá Thác Lác Lộc Phát", "my_thoi", "Ngô Thị Lộc", (
        ("Chả cá thác lác Lộc Phát", 8, "4", "khay 500g", 120_000, 500),
        ("Chà bông cá lóc Lộc Phát", 8, "3", "hũ 200g", 95_000, 200),
    )),
    ("AG-DN-08", ProducerType.ENTERPRISE, "Công ty TNHH Mắm Châu Đốc Hương Quê", "chau_phu_a", "Huỳnh Thị Quế", (
        ("Mắm thái Châu Đốc Hương Quê", 8, "4", "hũ 500g", 90_000, 500),
        ("Mắm cá lóc Châu Đốc", 8, "3", "hũ 500g", 110_000, 500),
    )),
    ("AG-DN-09", ProducerType.ENTERPRISE, "Công ty TNHH Nước uống Núi Cấm", "an_hao", "Chau Thanh Tùng", (
        ("Nước uống đóng chai Núi Cấm 500ml", 16, "4", "thùng 24 chai", 96_000, 12500),
        ("Nước khoáng thiên nhiên Núi Cấm", 16, "3", "thùng 24 chai", 120_000, 12500),
        ("Nước uống đóng bình Núi Cấm 20 lít", 16, "3", "bình", 35_000, 20500),
    )),
    ("AG-DN-10", ProducerType.ENTERPRISE, "Công ty TNHH Rượu Phú Tân", "cho_vam", "Trương Văn Vàm", (
        ("Rượu nếp Phú Tân 40 độ", 14, "3", "chai 500ml", 90_000, 800),
        ("Rượu gạo Chợ Vàm 35 độ", 14, "3", "chai 500ml", 75_000, 800),
        ("Rượu nếp cái hoa vàng Phú Tân", 14, "3", "chai 500ml", 120_000, 800),
    )),
    ("AG-DN-11", ProducerType.ENTERPRISE, "Công ty Cổ phần Nông sản Chợ Mới", "kien_an", "Bùi Thanh Nhàn", (
        ("Xoài sấy dẻo Chợ Mới", 7, "4", "túi 250g", 70_000, 250),
        ("Chuối sấy giòn Chợ Mới", 7, "3", "túi 250g", 45_000, 250),
    )),
    ("AG-DN-12", ProducerType.ENTERPRISE, "Công ty TNHH Cà phê Thất Sơn", "nui_to", "Lý Hoàng Sơn", (
        ("Cà phê hạt rang mộc Thất Sơn", 13, "4", "túi 500g", 160_000, 500),
    )),
    ("AG-DN-13", ProducerType.ENTERPRISE, "Công ty TNHH Thực phẩm Châu Giang", "chau_phong", "Mohamad Ali", (
        ("Tung lò mò bò Châu Giang", 8, "3", "túi 500g", 140_000, 500),
    )),
    ("AG-DN-14", ProducerType.ENTERPRISE, "Công ty TNHH Mật ong Rừng Tràm An Giang", "o_lam", "Kim Thị Mai", (
        ("Mật ong rừng tràm Trà Sư", 4, "4", "chai 500ml", 180_000, 700),
        ("Mật ong hoa nhãn An Giang", 4, "3", "chai 500ml", 150_000, 700),
    )),
    ("AG-DN-15", ProducerType.ENTERPRISE, "Công ty TNHH Khô cá Hai Thành", "khanh_binh", "Đỗ Văn Thành", (
        ("Khô cá lóc Hai Thành", 8, "3", "túi 500g", 160_000, 500),
    )),
    ("AG-DN-16", ProducerType.ENTERPRISE, "Công ty Cổ phần Trà thảo mộc An Giang", "my_binh", "Tạ Thị Ngọc Hân", (
        ("Trà gạo lứt huyết rồng", 12, "4", "hộp 30 túi", 70_000, 300),
    )),
    ("AG-DN-17", ProducerType.ENTERPRISE, "Công ty TNHH Nước giải khát Long Xuyên", "my_phuoc", "Phạm Quốc Việt", (
        ("Nước sâm bí đao Long Xuyên", 17, "3", "thùng 24 lon", 150_000, 8500),
        ("Nước thốt nốt đóng lon Long Xuyên", 17, "3", "thùng 24 lon", 170_000, 8500),
        ("Nước rau má đóng lon", 17, "3", "thùng 24 lon", 160_000, 8500),
        ("Nước chanh dây An Giang", 17, "3", "thùng 24 chai", 180_000, 8500),
    )),
    ("AG-DN-18", ProducerType.ENTERPRISE, "Công ty TNHH Bánh phồng tôm Phú Hòa", "phu_hoa", "Châu Văn Hòa", (
        ("Bánh phồng tôm Phú Hòa", 6, "4", "gói 500g", 65_000, 500),
    )),
    ("AG-DN-19", ProducerType.ENTERPRISE, "Công ty TNHH Lạp xưởng Tân Châu", "long_chau", "Quách Minh Châu", (
        ("Lạp xưởng tươi Tân Châu", 8, "4", "gói 500g", 130_000, 500),
        ("Lạp xưởng cá lóc Tân Châu", 8, "3", "gói 500g", 150_000, 500),
    )),
    ("AG-DN-20", ProducerType.ENTERPRISE, "Công ty TNHH Rượu vang Bảy Núi", "van_giao", "Trịnh Văn Núi", (
        ("Rượu vang nho rừng Bảy Núi", 15, "3", "chai 750ml", 240_000, 1200),
        ("Rượu vang sim Bảy Núi", 15, "3", "chai 750ml", 230_000, 1200),
    )),
    ("AG-DN-21", ProducerType.ENTERPRISE, "Công ty TNHH Gia vị Thoại Sơn", "vong_the", "Lưu Thị Sương", (
        ("Muối ớt xanh Thoại Sơn", 10, "3", "hũ 200g", 35_000, 250),
        ("Muối sả ớt Thoại Sơn", 10, "3", "hũ 200g", 35_000, 250),
    )),
    ("AG-HKD-01", ProducerType.HOUSEHOLD, "Cơ sở Mắm Bà Giáo Khỏe", "chau_phu_b", "Nguyễn Thị Khỏe", (
        ("Mắm cá chốt Bà Giáo Khỏe", 8, "3", "hũ 500g", 85_000, 500),
        ("Mắm cá sặc Bà Giáo Khỏe", 8, "3", "hũ 500g", 95_000, 500),
        ("Mắm cá trèn Bà Giáo Khỏe", 8, "3", "hũ 500g", 160_000, 500),
    )),
    ("AG-HKD-02", ProducerType.HOUSEHOLD, "Hộ kinh doanh Mắm Bà Sáu", "long_phu", "Lê Thị Sáu", (
        ("Mắm cá mè vinh Bà Sáu", 8, "4+", "hũ 500g", 120_000, 500),
    )),
    ("AG-HKD-03", ProducerType.HOUSEHOLD, "Hộ kinh doanh Yến Phương", "vinh_thanh", "Trần Yến Phương", (
        ("Nước mắm chay cô nành Yến Phương", 9, "3", "chai 500ml", 40_000, 600),
    )),
    ("AG-HKD-04", ProducerType.HOUSEHOLD, "Hộ kinh doanh Rượu thốt nốt Minh Thiện", "nui_sam", "Võ Minh Thiện", (
        ("Rượu thốt nốt Minh Thiện", 14, "3", "chai 500ml", 80_000, 800),
        ("Rượu thốt nốt Minh Thiện hộp quà", 14, "3", "hộp 2 chai", 200_000, 1800),
    )),
    ("AG-HKD-05", ProducerType.HOUSEHOLD, "Cơ sở Bánh bò thốt nốt Út Hiền", "chau_lang", "Néang Hiền", (
        ("Bánh bò thốt nốt Út Hiền", 6, "3", "hộp 10 cái", 40_000, 500),
    )),
    ("AG-HKD-06", ProducerType.HOUSEHOLD, "Cơ sở Cốm dẹp Ô Lâm", "o_lam", "Chau Ol", (
        ("Cốm dẹp nếp Ô Lâm", 6, "3", "gói 500g", 50_000, 500),
    )),
    ("AG-HKD-07", ProducerType.HOUSEHOLD, "Hộ kinh doanh Khô cá Năm Lành", "nhon_hoi", "Nguyễn Văn Lành", (
        ("Khô cá linh Năm Lành", 8, "3", "túi 500g", 120_000, 500),
    )),
    ("AG-HKD-08", ProducerType.HOUSEHOLD, "Cơ sở Bánh tráng Mỹ Đức", "my_duc", "Phạm Thị Đức", (
        ("Bánh tráng gạo Mỹ Đức", 6, "3", "xấp 500g", 30_000, 500),
    )),
    ("AG-HKD-09", ProducerType.HOUSEHOLD, "Hộ kinh doanh Mật ong Bảy Tài", "le_tri", "Trần Văn Tài", (
        ("Mật ong hoa tràm Bảy Tài", 4, "3", "chai 500ml", 160_000, 700),
    )),
    ("AG-HKD-10", ProducerType.HOUSEHOLD, "Cơ sở Bún khô Mỹ Hòa Hưng", "my_hoa_hung", "Huỳnh Văn Hưng", (
        ("Bún khô Mỹ Hòa Hưng", 6, "3", "gói 500g", 30_000, 500),
    )),
    ("AG-HKD-11", ProducerType.HOUSEHOLD, "Hộ kinh doanh Khô bò Tư Lực", "nhon_hung", "Lâm Văn Lực", (
        ("Khô bò một nắng Tư Lực", 8, "3", "túi 500g", 250_000, 500),
    )),
    ("AG-HKD-12", ProducerType.HOUSEHOLD, "Cơ sở Chuối sấy Cô Tô", "co_to", "Chau Sô Phal", (
        ("Chuối sấy dẻo Cô Tô", 7, "3", "túi 300g", 40_000, 300),
    )),
    ("AG-HKD-13", ProducerType.HOUSEHOLD, "Hộ kinh doanh Trà sen Hồng Phát", "binh_hoa", "Trương Hồng Phát", (
        ("Trà tim sen Hồng Phát", 12, "3", "hộp 200g", 90_000, 250),
    )),
    ("AG-HKD-14", ProducerType.HOUSEHOLD, "Cơ sở Kẹo chuối Hai Mỹ", "long_giang", "Nguyễn Văn Mỹ", (
        ("Kẹo chuối gừng Hai Mỹ", 7, "3", "hộp 400g", 45_000, 400),
    )),
    ("AG-HKD-15", ProducerType.HOUSEHOLD, "Hộ kinh doanh Xoài Hòa Bình", "hoa_binh", "Phan Văn Bình", (
        ("Xoài cát Chu Chợ Mới", 1, "3", "thùng 5kg", 200_000, 5000),
    )),
    ("AG-HKD-16", ProducerType.HOUSEHOLD, "Cơ sở Nem chua Bà Tư", "my_long", "Đinh Thị Tư", (
        ("Nem chua Long Xuyên Bà Tư", 8, "3", "chục", 50_000, 400),
    )),
    ("AG-HKD-17", ProducerType.HOUSEHOLD, "Cơ sở Bánh tét Phú Thạnh", "phu_thanh", "Võ Thị Thạnh", (
        ("Bánh tét lá cẩm Phú Thạnh", 6, "3", "đòn 1kg", 80_000, 1000),
    )),
    ("AG-HKD-18", ProducerType.HOUSEHOLD, "Hộ kinh doanh Đường thốt nốt Sáu Tâm", "an_cu", "Chau Tâm", (
        ("Đường thốt nốt viên Sáu Tâm", 4, "3", "túi 1kg", 70_000, 1000),
        ("Kẹo thốt nốt Sáu Tâm", 7, "3", "túi 500g", 50_000, 500),
    )),
    ("AG-HKD-19", ProducerType.HOUSEHOLD, "Cơ sở Rượu nếp cẩm Phú Thọ", "phu_tho", "Lê Văn Thọ", (
        ("Rượu nếp cẩm Phú Thọ", 14, "3", "chai 500ml", 85_000, 800),
    )),
    ("AG-HKD-20", ProducerType.HOUSEHOLD, "Hộ kinh doanh Nước thốt nốt Chín Lợi", "tan_lap", "Chau Lợi", (
        ("Nước thốt nốt tươi Chín Lợi", 17, "3", "chai 500ml", 20_000, 550),
        ("Trà sữa thốt nốt đóng chai Chín Lợi", 17, "3", "chai 350ml", 25_000, 400),
    )),
    ("AG-HKD-21", ProducerType.HOUSEHOLD, "Cơ sở Bánh phồng nếp Phú Mỹ", "phu_my", "Trần Thị Mỹ", (
        ("Bánh phồng nếp Phú Mỹ", 6, "3", "xấp 10 cái", 35_000, 400),
    )),
    ("AG-HKD-22", ProducerType.HOUSEHOLD, "Hộ kinh doanh Khô cá Út Cưng", "vinh_truong", "Nguyễn Thị Cưng", (
        ("Khô cá tra một nắng Út Cưng", 8, "3", "túi 500g", 90_000, 500),
    )),
    ("AG-HKD-23", ProducerType.HOUSEHOLD, "Cơ sở Tương ớt An Hòa", "an_hoa", "Võ Văn Hòa", (
        ("Tương ớt An Hòa", 9, "3", "chai 250g", 25_000, 300),
    )),
    ("AG-HKD-24", ProducerType.HOUSEHOLD, "Cơ sở Me chua Tri Tôn", "tri_ton", "Néang Sa Ry", (
        ("Me ngào đường Tri Tôn", 7, "3", "hũ 300g", 45_000, 350),
    )),
    ("AG-HKD-25", ProducerType.HOUSEHOLD, "Hộ kinh doanh Lạp xưởng Thanh Hương", "long_son", "Lý Thanh Hương", (
        ("Lạp xưởng tôm Thanh Hương", 8, "3", "gói 500g", 160_000, 500),
    )),
    ("AG-HKD-26", ProducerType.HOUSEHOLD, "Cơ sở Trà khổ qua Vĩnh Hanh", "vinh_hanh", "Đoàn Văn Hạnh", (
        ("Trà khổ qua rừng Vĩnh Hanh", 12, "3", "hộp 30 túi", 60_000, 150),
        ("Nước khổ qua rừng đóng chai", 17, "3", "chai 330ml", 15_000, 360),
    )),
    ("AG-HKD-27", ProducerType.HOUSEHOLD, "Hộ kinh doanh Cá lóc đồng Hai Lúa", "phu_vinh", "Trần Văn Lúa", (
        ("Cá lóc đồng làm sạch Hai Lúa", 2, "3", "kg", 110_000, 1000),
    )),
    ("AG-HKD-28", ProducerType.HOUSEHOLD, "Cơ sở Mắm chưng Ba Sương", "vinh_my", "Lưu Thị Sương", (
        ("Mắm chưng Châu Đốc Ba Sương", 8, "3", "hũ 300g", 60_000, 300),
    )),
    ("AG-HKD-29", ProducerType.HOUSEHOLD, "Hộ kinh doanh Nhãn xuồng Hòa An", "hoa_an", "Phan Văn An", (
        ("Nhãn xuồng cơm vàng Hòa An", 1, "3", "kg", 65_000, 1000),
    )),
    ("AG-HKD-30", ProducerType.HOUSEHOLD, "Cơ sở Rượu nếp than Bảy Núi", "an_tuc", "Chau Sa Ren", (
        ("Rượu nếp than Bảy Núi", 14, "3", "chai 500ml", 95_000, 800),
    )),
    ("AG-HKD-31", ProducerType.HOUSEHOLD, "Hộ kinh doanh Bột gạo Phú Vĩnh", "phu_vinh", "Nguyễn Thị Vĩnh", (
        ("Bột gạo lứt Phú Vĩnh", 6, "3", "túi 500g", 55_000, 500),
    )),
    ("AG-HKD-32", ProducerType.HOUSEHOLD, "Cơ sở Đậu phộng Hai Ngọc", "phu_huu", "Trần Văn Ngọc", (
        ("Đậu phộng rang tỏi ớt Hai Ngọc", 7, "3", "hũ 300g", 40_000, 300),
    )),
    ("AG-HKD-33", ProducerType.HOUSEHOLD, "Hộ kinh doanh Sữa bò Lê Trì", "le_tri", "Chau Kha", (
        ("Sữa bò tươi thanh trùng Lê Trì", 2, "3", "chai 1 lít", 45_000, 1050),
    )),
    ("AG-HKD-34", ProducerType.HOUSEHOLD, "Cơ sở Bánh canh Vĩnh Trường", "vinh_truong", "Mai Thị Trường", (
        ("Bánh canh bột xắt khô", 6, "3", "gói 500g", 30_000, 500),
    )),
    ("AG-HKD-35", ProducerType.HOUSEHOLD, "Hộ kinh doanh Ớt xay Vĩnh Chánh", "vinh_chanh", "Huỳnh Văn Chánh", (
        ("Ớt xay tỏi Vĩnh Chánh", 10, "3", "hũ 250g", 30_000, 300),
    )),
)  # fmt: skip
