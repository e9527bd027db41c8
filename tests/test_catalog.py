from decimal import Decimal

from imagestudio import catalog


def test_thirty_vip_sizes_ten_ratios_three_tiers():
    assert len(catalog.VIP_SIZES) == 30
    assert len({s.value for s in catalog.VIP_SIZES}) == 30
    for tier in catalog.TIERS:
        assert len([s for s in catalog.VIP_SIZES if s.tier == tier]) == 10


def test_size_values_use_lowercase_x_and_match_dimensions():
    for s in catalog.VIP_SIZES:
        assert s.value == f"{s.width}x{s.height}"
        assert "X" not in s.value and "×" not in s.value


def test_seed_table_spot_checks():
    by_value = catalog.VIP_SIZES_BY_VALUE
    assert by_value["1280x720"].tier == "1k" and by_value["1280x720"].ratio == "16:9"
    assert by_value["2048x1152"].label == "16:9 Wide · 2048×1152"
    assert by_value["3840x2160"].tier == "4k"
    assert by_value["2880x2880"].name == "Square"
    assert by_value["848x1280"].ratio == "2:3"


def test_eight_all_phrasings_with_resolutions():
    assert len(catalog.ALL_PHRASINGS) == 8
    p = catalog.ALL_PHRASINGS_BY_VALUE["横版 16:9"]
    assert (p.width, p.height) == (1672, 941)
    assert catalog.ALL_PHRASINGS_BY_VALUE["2:5 竖屏"].height == 1983


def test_fallback_goes_to_the_2k_size_of_the_same_ratio():
    for s in catalog.VIP_SIZES:
        fb = catalog.fallback_2k(s.value)
        if s.tier == "4k":
            two_k = catalog.VIP_SIZES_BY_VALUE[fb]
            assert two_k.tier == "2k" and two_k.ratio == s.ratio
        else:
            assert fb is None


def test_price_is_decimal_and_batch_cost():
    assert catalog.price(catalog.VIP) == Decimal("0.03")
    assert catalog.batch_cost(catalog.ALL, 4) == Decimal("0.12")


def test_validity_and_prompt_phrasing():
    assert catalog.valid_size(catalog.VIP, "2048x2048")
    assert not catalog.valid_size(catalog.VIP, "1920x1080")
    assert not catalog.valid_size(catalog.VIP, "")
    assert catalog.valid_size(catalog.ALL, "")
    assert catalog.valid_size(catalog.ALL, "3:2 尺寸")
    assert not catalog.valid_size(catalog.ALL, "2048x2048")
    assert catalog.prompt_for_gateway(catalog.ALL, "4:3", "a cat") == "4:3, a cat"
    assert catalog.prompt_for_gateway(catalog.VIP, "2048x2048", "a cat") == "a cat"
    assert catalog.expected_resolution(catalog.ALL, "") == catalog.ALL_DEFAULT_RESOLUTION


def test_size_choices_grouped_for_vip_flat_for_all():
    vip = catalog.size_choices(catalog.VIP)
    assert [group for group, _ in vip] == ["1K Fast", "2K Recommended", "4K Detail"]
    assert sum(len(options) for _, options in vip) == 30
    all_ = catalog.size_choices(catalog.ALL)
    assert len(all_) == 9 and all_[0][0] == ""
