import json
from decimal import Decimal

import pytest

from imagestudio import catalog
from imagestudio.catalog import labels


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


def test_a_pixel_size_never_reaches_the_start_of_an_all_prompt():
    # A -vip size carried to -all (a reroute, a stale form) is not a phrasing: the gateway
    # would read "2048x1152," as the first words of the prompt.
    assert catalog.prompt_for_gateway(catalog.ALL, "2048x1152", "a cat") == "a cat"
    assert catalog.gateway_text(catalog.ALL, "2048x1152", "a cat", "flat colours") == (
        catalog.gateway_text(catalog.ALL, "", "a cat", "flat colours")
    )
    assert catalog.prompt_for_gateway(catalog.ALL, "横版 16:9", "a cat") == "横版 16:9, a cat"


def test_size_choices_grouped_for_vip_flat_for_all():
    vip = catalog.size_choices(catalog.VIP)
    assert [group for group, _ in vip] == ["1K Fast", "2K Recommended", "4K Detail"]
    assert sum(len(options) for _, options in vip) == 30
    all_ = catalog.size_choices(catalog.ALL)
    assert len(all_) == 9 and all_[0][0] == ""


# --- the catalog as data ------------------------------------------------------------------
def _data() -> dict:
    return json.loads(catalog._DATA_FILE.read_text(encoding="utf-8"))


def test_every_model_of_the_data_file_is_in_the_catalog_with_its_family():
    ids = [entry["id"] for entry in _data()["models"]]
    assert ids == list(catalog.MODELS)
    assert {catalog.VIP, catalog.ALL, catalog.ALL_26, catalog.OFFICIAL} <= set(ids)
    assert catalog.MODELS[catalog.OFFICIAL].per_token
    assert not catalog.MODELS[catalog.ALL_26].per_token


def test_every_word_of_the_data_file_is_marked_for_the_translators():
    data = _data()
    words = {e["label"] for e in data["models"]} | {e["description"] for e in data["models"]}
    words |= {row[1] for spec in data["size_sets"].values() for row in spec["table"]}
    # A phrasing's English name, where it is more than its ratio.
    words |= {row[1] for row in data["phrasings"] if row[1] != row[4]}
    assert words <= set(labels.LABELS)


def test_a_phrasing_reads_in_the_readers_language_and_is_sent_as_written():
    from django.utils import translation

    phrasing = catalog.ALL_PHRASINGS_BY_VALUE["横版 16:9"]
    with translation.override("en"):
        assert phrasing.label == "Landscape 16:9 · 1672×941"
    with translation.override("zh-hans"):
        assert phrasing.label == "横版 16:9 · 1672×941"
    assert phrasing.value == "横版 16:9"


def test_a_new_model_of_a_known_family_is_one_entry(tmp_path, monkeypatch):
    data = _data()
    clone = dict(data["models"][2], id="gpt-image-2.7-all", price_per_image="0.02")
    data["models"].append(clone)
    path = tmp_path / "routes.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(catalog, "_DATA_FILE", path)
    loaded = catalog._load()
    models = {m.id: m for m in map(catalog._model, loaded["models"])}
    assert models["gpt-image-2.7-all"].price_per_call == Decimal("0.02")
    assert models["gpt-image-2.7-all"].sizes.set == "all26"


def test_official_presets_keep_the_free_size_rules():
    for s in catalog.SIZE_SETS["official_presets"]:
        assert catalog.free_size_ok(catalog.OFFICIAL, s.value), s.value


def test_free_sizes_are_checked_by_their_rules():
    ok = catalog.valid_size
    assert ok(catalog.OFFICIAL, "1920x1088")
    assert not ok(catalog.OFFICIAL, "1920x1080")  # not a multiple of 16
    assert not ok(catalog.OFFICIAL, "4096x2304")  # an edge over 3840
    assert not ok(catalog.OFFICIAL, "3072x1008")  # wider than 3:1
    assert not ok(catalog.OFFICIAL, "512x512")  # under the fewest pixels
    assert not ok(catalog.OFFICIAL, "3840x3840")  # over the most pixels
    assert not ok(catalog.OFFICIAL, "1024×1024") and not ok(catalog.OFFICIAL, "")
    assert catalog.size_tier(catalog.OFFICIAL, "1024x1024") == "1k"
    assert catalog.size_tier(catalog.OFFICIAL, "2048x1152") == "2k"
    assert catalog.size_tier(catalog.OFFICIAL, "3840x2160") == "4k"


def test_the_26_all_route_takes_only_its_sizes():
    assert catalog.valid_size(catalog.ALL_26, "3840x2160")
    assert catalog.valid_size(catalog.ALL_26, "1024x1024")
    assert not catalog.valid_size(catalog.ALL_26, "1920x1080")
    assert not catalog.valid_size(catalog.ALL_26, "")
    groups = catalog.size_choices(catalog.ALL_26)
    assert [label for label, _ in groups] == ["1K Fast", "2K Recommended", "4K Detail"]


def test_options_are_offered_only_where_a_route_takes_them():
    assert catalog.options(catalog.VIP, "quality") == ()
    assert catalog.options(catalog.OFFICIAL, "quality") == ("low", "medium", "high", "auto")
    assert "webp" not in catalog.options(catalog.ALL_26, "output_format")
    assert catalog.options(catalog.ALL_26, "background") == ("auto", "transparent", "opaque")
    assert catalog.accepts_mask(catalog.OFFICIAL) and not catalog.accepts_mask(catalog.VIP)
    assert catalog.max_inputs(catalog.OFFICIAL) == 16
    assert not catalog.accepts_endpoint(catalog.OFFICIAL, catalog.CHAT)
    assert not catalog.sends_response_format(catalog.OFFICIAL)
    assert catalog.sends_response_format(catalog.VIP)


def test_timeouts_follow_the_gateway_advice_per_route_and_size():
    assert catalog.timeout_for(catalog.VIP, "2048x2048") == 360
    assert catalog.timeout_for(catalog.VIP, "3840x2160") == 600
    assert catalog.timeout_for(catalog.ALL, "", inputs=3) == 600
    assert catalog.timeout_for(catalog.ALL_26, "1024x1024") == 600
    assert catalog.timeout_for(catalog.OFFICIAL, "1024x1024") == 600
    assert catalog.retry_429_delays(catalog.VIP, "3840x2160") == (5, 15, 45)
    assert catalog.retry_429_delays(catalog.VIP, "1280x1280") == ()


def test_token_cost_is_usage_times_prices_to_a_millionth():
    cost = catalog.token_cost(
        catalog.OFFICIAL, text_tokens=37, image_tokens=1600, output_tokens=1756
    )
    expected = (37 * Decimal("5") + 1600 * Decimal("8") + 1756 * Decimal("30")) / 1_000_000
    assert cost == expected.quantize(Decimal("0.000001"))
    assert cost.as_tuple().exponent == -6


def test_the_estimate_range_grows_with_quality_size_and_inputs():
    low_1k, high_1k = catalog.estimate_range(catalog.OFFICIAL, "1024x1024", "low")
    assert Decimal("0") < low_1k < high_1k
    _, high_hq = catalog.estimate_range(catalog.OFFICIAL, "1024x1024", "high")
    _, high_4k = catalog.estimate_range(catalog.OFFICIAL, "3840x2160", "high")
    _, high_refs = catalog.estimate_range(catalog.OFFICIAL, "3840x2160", "high", inputs=4)
    assert high_1k < high_hq < high_4k < high_refs
    assert catalog.reserve_per_image(catalog.OFFICIAL, "3840x2160", "high", 4) == high_refs
    assert catalog.reserve_per_image(catalog.ALL_26, "3840x2160") == Decimal("0.025")


def test_overrides_switch_off_reprice_and_retime_a_route():
    overrides = {
        catalog.VIP: catalog.Override(enabled=False),
        catalog.ALL_26: catalog.Override(price_per_image=Decimal("0.02"), timeout_s=120),
        catalog.OFFICIAL: catalog.Override(image_output=Decimal("10")),
    }
    catalog.use_overrides(lambda: overrides)
    try:
        assert not catalog.enabled(catalog.VIP)
        assert catalog.VIP not in dict(catalog.model_choices())
        assert catalog.price(catalog.ALL_26) == Decimal("0.02")
        assert catalog.gateway_price(catalog.ALL_26) == Decimal("0.025")
        assert catalog.timeout_for(catalog.ALL_26, "3840x2160") == 120
        assert catalog.token_cost(
            catalog.OFFICIAL, text_tokens=0, image_tokens=0, output_tokens=1000
        ) == Decimal("0.010000")
    finally:
        from imagestudio.spend import routes

        catalog.use_overrides(routes.overrides)


@pytest.mark.django_db
def test_staff_switch_a_route_off_in_the_admin_audited_and_applied_at_once(admin_client_):
    from django.urls import reverse

    from imagestudio.audit.models import AuditEntry

    assert catalog.enabled(catalog.VIP)  # read (and cached) before the change
    form = {
        "model": catalog.VIP,
        "price_per_image": "0.028",
        "timeout_seconds": "420",
    }  # "enabled" left out: an unticked box
    response = admin_client_.post(reverse("admin:spend_routesetting_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not catalog.enabled(catalog.VIP)
    assert catalog.VIP not in dict(catalog.model_choices())
    assert catalog.price(catalog.VIP) == Decimal("0.028")
    assert catalog.timeout_for(catalog.VIP, "2048x2048") == 420
    entry = AuditEntry.objects.filter(object_type="route_setting").get()
    assert (entry.action, entry.via, entry.actor_name) == ("created", "admin", "boss")
    assert entry.after["enabled"] is False and entry.after["price_per_image"] == "0.028"


@pytest.mark.django_db
def test_a_route_setting_for_a_model_outside_the_catalog_is_refused(admin_client_):
    from django.urls import reverse

    from imagestudio.spend.models import RouteSetting

    response = admin_client_.post(
        reverse("admin:spend_routesetting_add"), {"model": "dall-e-9", "enabled": "on"}
    )
    assert response.status_code == 200
    assert not RouteSetting.objects.exists()
