"""The studio page: form, size partial, live cost and pre-filter feedback, submitting."""

from __future__ import annotations

import re
from functools import partial

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.prefilter.models import Category, Term
from imagestudio.studio.models import Generation, Status
from tests import factories
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


make_generation = partial(
    factories.make_generation, model=catalog.ALL, prompt="a red kite over green hills"
)


def options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', html)


# --- the page -----------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("studio:home"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_home_shows_form_nav_and_banner(owner_client, settings):
    settings.UPSTREAM_SIMULATED = True
    response = owner_client.get(reverse("studio:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Simulated gateway — placeholder images, nothing is billed." in html
    assert 'name="prompt"' in html
    assert 'hx-get="/sizes"' in html
    assert 'hx-post="/check"' in html
    assert "1 image × $0.03 = $0.03" in html
    assert ">Gallery</a>" in html
    assert ">Admin</a>" not in html
    assert 'action="/accounts/logout/"' in html
    assert "htmx-2.0.11.min.js" in html
    assert '"allowEval": false' in html
    assert '"X-CSRFToken": "' in html


def test_no_banner_with_a_real_gateway(owner_client, settings):
    settings.UPSTREAM_SIMULATED = False
    html = owner_client.get(reverse("studio:home")).content.decode()
    assert "Simulated gateway" not in html


def test_staff_get_the_admin_link(admin_client_):
    assert ">Admin</a>" in admin_client_.get(reverse("studio:home")).content.decode()


def test_pages_have_no_inline_script_or_style(owner_client, owner):
    make_generation(owner, status=Status.RUNNING)
    response = owner_client.get(reverse("studio:home"))
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert " style=" not in html
    assert "hx-on" not in html
    # Every <script> loads a file.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_home_is_get_only(owner_client):
    assert owner_client.post(reverse("studio:home")).status_code == 405


def test_home_prefills_from_querystring(owner_client):
    response = owner_client.get(
        reverse("studio:home"),
        {"prompt": "A fox in snow", "model": catalog.VIP, "size": "3840x2160"},
    )
    html = response.content.decode()
    assert "A fox in snow</textarea>" in html
    assert f'<option value="{catalog.VIP}" selected>' in html
    assert '<option value="3840x2160" selected data-4k>' in html
    assert "field--4k" in html


def test_home_ignores_a_size_the_model_does_not_take(owner_client):
    html = owner_client.get(
        reverse("studio:home"), {"model": catalog.VIP, "size": "横版 16:9"}
    ).content.decode()
    assert '<option value="2048x2048" selected>' in html


def test_home_prefills_from_another_generation(owner_client, owner):
    source = make_generation(owner, model=catalog.ALL, size="竖屏 9:16", prompt="tall tower")
    html = owner_client.get(reverse("studio:home"), {"again": source.pk}).content.decode()
    assert "tall tower</textarea>" in html
    assert '<option value="竖屏 9:16" selected>' in html


def test_home_will_not_prefill_from_someone_elses_generation(owner_client, other_user):
    source = make_generation(other_user, prompt="private idea")
    response = owner_client.get(reverse("studio:home"), {"again": source.pk})
    assert response.status_code == 404


def test_home_lists_own_recent_and_pending_tiles(owner_client, owner, other_user):
    mine = make_generation(owner, status=Status.RUNNING)
    theirs = make_generation(other_user, status=Status.RUNNING)
    deleted = make_generation(owner, status=Status.FAILED)
    deleted.soft_delete()
    html = owner_client.get(reverse("studio:home")).content.decode()
    assert f'id="tile-{mine.pk}"' in html
    assert f'id="tile-{theirs.pk}"' not in html
    assert f'id="tile-{deleted.pk}"' not in html
    # Something is pending, so the page polls.
    assert 'hx-trigger="every 2s"' in html


def test_home_does_not_poll_when_nothing_is_pending(owner_client, owner):
    make_generation(owner, status=Status.FAILED, error_code="timeout")
    html = owner_client.get(reverse("studio:home")).content.decode()
    assert 'id="poller"' in html
    assert "every 2s" not in html


# --- size partial ---------------------------------------------------------------------------
def test_sizes_for_vip_are_grouped_by_tier(owner_client):
    response = owner_client.get(reverse("studio:sizes"), {"model": catalog.VIP}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<div id="size-field"')
    assert "<html" not in html
    assert options(html) == [s.value for s in catalog.VIP_SIZES]
    assert len(options(html)) == 30
    for tier in catalog.TIERS.values():
        assert f'<optgroup label="{tier.label}">' in html
    assert "16:9 Wide · 2048×1152" in html
    assert '<option value="2048x2048" selected>' in html
    # The 4K fallback is offered for -vip (CSS shows it for 4K sizes only).
    assert 'name="fallback_2k" checked' in html
    assert html.count("data-4k") == 10


def test_sizes_for_all_are_the_phrasings(owner_client):
    html = owner_client.get(reverse("studio:sizes"), {"model": catalog.ALL}, **HX).content.decode()
    assert options(html) == [""] + [p.value for p in catalog.ALL_PHRASINGS]
    assert "Model decides" in html
    # In the reader's language, with the resolution; the value sent stays the phrase.
    assert "Landscape 16:9 · 1672×941" in html and 'value="横版 16:9"' in html
    assert "<optgroup" not in html
    assert "fallback_2k" not in html


def test_size_and_model_labels_follow_the_language(owner_client):
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    vip = owner_client.get(reverse("studio:sizes"), {"model": catalog.VIP}, **HX, **zh)
    home = owner_client.get(reverse("studio:home"), **zh)

    assert "1:1 方形 · 2048×2048" in vip.content.decode()
    assert "2K 推荐" in vip.content.decode()
    assert "gpt-image-2-vip — 精确尺寸，最高 4K" in home.content.decode()


def test_sizes_keeps_a_valid_selected_size(owner_client):
    html = owner_client.get(
        reverse("studio:sizes"), {"model": catalog.VIP, "size": "2880x2880"}
    ).content.decode()
    assert '<option value="2880x2880" selected data-4k>' in html
    assert "field--4k" in html


def test_sizes_unknown_model_is_a_bad_request(owner_client):
    assert owner_client.get(reverse("studio:sizes"), {"model": "x"}).status_code == 400


def test_sizes_is_get_only(owner_client):
    assert owner_client.post(reverse("studio:sizes"), {"model": catalog.VIP}).status_code == 405


def test_sizes_needs_login(client):
    assert client.get(reverse("studio:sizes"), {"model": catalog.VIP}).status_code == 302


# --- cost and pre-filter feedback ------------------------------------------------------------
def check(client, **data):
    return client.post(reverse("studio:check"), data, **HX)


def test_cost_line(owner_client):
    html = check(owner_client, prompt="", model=catalog.VIP, count="4").content.decode()
    assert "4 images × $0.03 = $0.12" in html
    html = check(owner_client, prompt="", model=catalog.ALL, count="1").content.decode()
    assert "1 image × $0.03 = $0.03" in html
    html = check(owner_client, prompt="", model=catalog.ALL, count="10").content.decode()
    assert "10 images × $0.03 = $0.30" in html


@pytest.mark.parametrize("count", ["0", "11", "", "two"])
def test_cost_line_for_a_count_out_of_range(owner_client, count):
    html = check(owner_client, prompt="", model=catalog.ALL, count=count).content.decode()
    assert "Choose 1 to 10 images." in html


def test_prefilter_warning_names_the_term(owner_client):
    html = check(
        owner_client, prompt="Pikachu and Mickey Mouse at the beach", model=catalog.ALL, count="2"
    ).content.decode()
    assert "Copyrighted characters, brands and IP" in html
    assert "“Mickey Mouse”" in html
    assert "“Pikachu”" in html
    assert "often fail and may still be billed" in html
    assert 'class="warning"' in html
    assert "2 images × $0.03 = $0.06" in html


def test_prefilter_matches_chinese_terms(owner_client):
    html = check(owner_client, prompt="画一只米老鼠", model=catalog.ALL, count="1").content.decode()
    assert "“米老鼠”" in html


def test_clean_prompt_has_no_warning(owner_client):
    html = check(owner_client, prompt="a quiet harbour", model=catalog.ALL).content.decode()
    assert "warning" not in html
    assert "error" not in html


def test_blocked_category_is_shown_as_an_error(owner_client):
    category = Category.objects.create(key="b", name="No go", action=Category.Action.BLOCK)
    Term.objects.create(category=category, term="zorblax")
    html = check(owner_client, prompt="a zorblax", model=catalog.ALL).content.decode()
    assert 'class="error"' in html
    assert "Blocked — No go: “zorblax”" in html


def test_check_is_post_only(owner_client):
    assert owner_client.get(reverse("studio:check")).status_code == 405


def test_check_needs_csrf(client, owner):
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    assert csrf_client.post(reverse("studio:check"), {"prompt": "x"}).status_code == 403


# --- submitting --------------------------------------------------------------------------------
GOOD = {"prompt": "A paper boat on a pond", "model": catalog.ALL, "size": "4:3", "count": "2"}


def test_generate_with_htmx_shows_the_new_tiles(
    owner_client, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(reverse("studio:generate"), GOOD, **HX)
    assert response.status_code == 200
    assert len(callbacks) == 1
    generations = list(Generation.objects.filter(user=owner).order_by("id"))
    assert len(generations) == 2
    assert {g.batch_id for g in generations} == {generations[0].batch_id}
    assert all(g.status == Status.QUEUED and g.size == "4:3" for g in generations)
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="studio-form"')
    assert 'hx-swap-oob="afterbegin:#tiles"' in html
    for g in generations:
        assert f'id="tile-{g.pk}"' in html
        assert f'name="ids" value="{g.pk}:{g.status}"' in html
    assert "<progress" in html
    # The poller is switched on again, whatever it was doing before.
    assert re.search(r'<div id="poller"[^>]*hx-trigger="every 2s"[^>]*hx-swap-oob="true"', html)
    # What the user typed is still there for the next variation.
    assert "A paper boat on a pond</textarea>" in html
    assert "Queued 2 images" in html


def test_generate_without_htmx_redirects(owner_client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(reverse("studio:generate"), GOOD, follow=True)
    assert response.redirect_chain == [(reverse("studio:home"), 302)]
    html = response.content.decode()
    assert "Queued 2 images." in html
    assert Generation.objects.filter(user=owner).count() == 2


def test_generate_vip_stores_size_tier_and_fallback(
    owner_client, owner, django_capture_on_commit_callbacks
):
    data = {"prompt": "city", "model": catalog.VIP, "size": "3840x2160", "count": "1"}
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(reverse("studio:generate"), data, **HX)
    g = Generation.objects.get(user=owner)
    assert (g.size, g.size_tier, g.fallback_2k) == ("3840x2160", "4k", False)
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(reverse("studio:generate"), {**data, "fallback_2k": "on"}, **HX)
    assert Generation.objects.filter(user=owner, fallback_2k=True).count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"prompt": ""}, "prompt", "Write a prompt: describe the image you want."),
        ({"prompt": "y" * 32_001}, "prompt", "The prompt is 32,001 characters"),
        ({"size": "999x999"}, "size", "not one of the 8 verified phrasings"),
        (
            {"model": catalog.VIP, "size": "1024x1024"},
            "size",
            "not one of the 30 sizes gpt-image-2-vip accepts",
        ),
        ({"count": "0"}, "count", "Ask for 1 to 10 images at once (got 0)."),
        ({"count": "11"}, "count", "Ask for 1 to 10 images at once (got 11)."),
        ({"model": "nope"}, "model", "Unknown model."),
    ],
)
def test_generate_shows_errors_next_to_the_field(owner_client, changes, field, message):
    data = {**GOOD, **changes}
    response = owner_client.post(reverse("studio:generate"), data, **HX)
    assert response.status_code == 200
    assert not Generation.objects.exists()
    html = response.content.decode()
    block = re.search(rf'<div id="id_{field}_error">(.*?)</div>', html, re.S)
    assert block, f"no error block for {field}"
    assert message in block.group(1)
    # The rest of what the user typed is kept.
    if field != "prompt":
        assert f"{data['prompt']}</textarea>" in html
    if field not in ("count",):
        assert f'value="{data["count"]}"' in html


def test_generate_error_keeps_the_selected_size(owner_client):
    data = {**GOOD, "model": catalog.VIP, "size": "3840x2160", "count": "0"}
    html = owner_client.post(reverse("studio:generate"), data, **HX).content.decode()
    assert '<option value="3840x2160" selected data-4k>' in html
    assert 'value="0"' in html


def test_generate_errors_without_htmx_render_the_whole_page(owner_client):
    response = owner_client.post(reverse("studio:generate"), {**GOOD, "prompt": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert "Write a prompt" in html


def test_generate_blocked_prompt_is_refused(owner_client):
    category = Category.objects.create(key="b", name="No go", action=Category.Action.BLOCK)
    Term.objects.create(category=category, term="zorblax")
    response = owner_client.post(
        reverse("studio:generate"), {**GOOD, "prompt": "zorblax party"}, **HX
    )
    assert "zorblax" in re.search(
        r'id="id_prompt_error">(.*?)</div>', response.content.decode(), re.S
    ).group(1)
    assert not Generation.objects.exists()


def test_generate_is_post_only(owner_client):
    assert owner_client.get(reverse("studio:generate")).status_code == 405


def test_generate_needs_login(client):
    response = client.post(reverse("studio:generate"), GOOD)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Generation.objects.exists()


# --- sign in and out ----------------------------------------------------------------------------
def test_login_page_and_wrong_password(client, owner):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "Sign in" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "owner", "password": "wrong"})
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert 'role="alert"' in html


def test_login_then_logout(client, owner):
    response = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("studio:home")).status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(reverse("studio:home")).status_code == 302
