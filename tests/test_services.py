import pytest

from imagestudio import catalog
from imagestudio.prefilter import matching
from imagestudio.prefilter.models import Category
from imagestudio.studio import services
from imagestudio.studio.models import Generation, Status

pytestmark = pytest.mark.django_db


def errors(**overrides) -> dict[str, str]:
    data = {"model": catalog.VIP, "prompt": "a red bicycle", "size": "2048x2048", "count": 1}
    data.update(overrides)
    with pytest.raises(services.Invalid) as info:
        services.validate(**data)
    return info.value.errors


def test_valid_request_defaults_size_per_model():
    vip = services.validate(model=catalog.VIP, prompt="x", size=None, count=2)
    assert vip.size == catalog.DEFAULT_VIP_SIZE and vip.count == 2
    all_ = services.validate(model=catalog.ALL, prompt="x", size=None, count="3")
    assert all_.size == "" and all_.count == 3


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "Write a prompt"),
        ({"prompt": "   "}, "prompt", "Write a prompt"),
        ({"prompt": "x" * 32_001}, "prompt", "32,001"),
        ({"model": "dall-e-3"}, "model", "Unknown model"),
        ({"size": "1920x1080"}, "size", "not one of the 30 sizes"),
        ({"model": catalog.ALL, "size": "2048x2048"}, "size", "8 verified phrasings"),
        ({"count": 0}, "count", "1 to 10"),
        ({"count": 11}, "count", "1 to 10"),
        ({"count": "many"}, "count", "whole number"),
        ({"count": True}, "count", "whole number"),
    ],
)
def test_bad_input_names_the_field_and_what_to_do(overrides, field, words):
    found = errors(**overrides)
    assert field in found
    assert words in found[field]


def test_32000_characters_is_allowed():
    assert services.validate(model=catalog.ALL, prompt="x" * 32_000, size="", count=1)


def test_warnings_do_not_block_but_a_blocking_category_does():
    request = services.validate(model=catalog.ALL, prompt="Pikachu on a mug", size="", count=1)
    assert [m.as_warning() for m in request.warnings] == [
        {"category": "copyrighted-ip", "terms": ["Pikachu"]}
    ]
    Category.objects.filter(key="copyrighted-ip").update(action=Category.Action.BLOCK)
    matching.invalidate()
    found = errors(prompt="Pikachu on a mug")
    assert "Pikachu" in found["prompt"] and "blocked" in found["prompt"]


def test_submit_creates_one_row_per_image_and_enqueues_after_commit(
    owner, django_capture_on_commit_callbacks
):
    request = services.validate(model=catalog.VIP, prompt="a", size="3840x2160", count=4)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch, generations = services.submit(owner, request)
    assert len(callbacks) == 1  # one callback sends all four, only after the commit
    rows = Generation.objects.filter(batch=batch)
    assert rows.count() == 4
    assert {g.status for g in rows} == {Status.QUEUED}
    assert {g.size_tier for g in rows} == {"4k"}
    assert all(g.pk for g in generations)


def test_retry_makes_a_new_row_and_keeps_the_old(owner, django_capture_on_commit_callbacks):
    request = services.validate(model=catalog.ALL, prompt="a", size="4:3", count=1)
    with django_capture_on_commit_callbacks(execute=False):
        _, [first] = services.submit(owner, request)
        _, [again] = services.retry(first, owner)
    assert again.pk != first.pk and again.batch_id != first.batch_id
    assert (again.model, again.prompt, again.size) == (first.model, first.prompt, first.size)


def test_retry_is_validated_again(owner, django_capture_on_commit_callbacks):
    request = services.validate(model=catalog.ALL, prompt="Pikachu mug", size="", count=1)
    with django_capture_on_commit_callbacks(execute=False):
        _, [first] = services.submit(owner, request)
    Category.objects.filter(key="copyrighted-ip").update(action=Category.Action.BLOCK)
    matching.invalidate()
    with pytest.raises(services.Invalid):
        services.retry(first, owner)


def test_staff_retry_is_charged_to_staff(owner, admin_user, django_capture_on_commit_callbacks):
    request = services.validate(model=catalog.ALL, prompt="a mug", size="", count=1)
    with django_capture_on_commit_callbacks(execute=False):
        _, [first] = services.submit(owner, request)
        _, [again] = services.retry(first, admin_user)
    assert again.user == admin_user
