import pytest

from imagestudio.prefilter import matching
from imagestudio.prefilter.models import Category, Term

pytestmark = pytest.mark.django_db


def categories(prompt: str) -> dict[str, list[str]]:
    return {m.category: list(m.terms) for m in matching.check(prompt)}


def test_starter_set_ships_three_categories_in_both_languages():
    keys = set(Category.objects.values_list("key", flat=True))
    assert {"real-people", "copyrighted-ip", "sensitive"} <= keys
    assert Term.objects.filter(term="Pikachu").exists()
    assert Term.objects.filter(term="皮卡丘").exists()


def test_latin_terms_match_whole_words_case_insensitively():
    assert categories("a PIKACHU plush on a desk") == {"copyrighted-ip": ["Pikachu"]}
    assert categories("pikachus everywhere") == {}
    assert categories("the gunner's boat") == {}  # "gun" inside a word is not a hit
    assert "sensitive" in categories("a gun on the table")


def test_multi_word_terms_and_full_width_letters():
    assert categories("portrait of taylor swift, studio light") == {"real-people": ["Taylor Swift"]}
    assert categories("Ｐｉｋａｃｈｕ sticker") == {"copyrighted-ip": ["Pikachu"]}


def test_cjk_terms_match_as_substrings():
    assert categories("画一只可爱的皮卡丘在草地上") == {"copyrighted-ip": ["皮卡丘"]}


def test_several_categories_at_once():
    found = categories("Elon Musk holding a Pikachu")
    assert found == {"real-people": ["Elon Musk"], "copyrighted-ip": ["Pikachu"]}


def test_admin_edits_take_effect_at_once():
    category = Category.objects.create(key="brand", name="Our competitors")
    assert categories("an ad for Acme soap") == {}
    Term.objects.create(category=category, term="Acme")
    assert categories("an ad for Acme soap") == {"brand": ["Acme"]}
    Term.objects.filter(term="Acme").update(enabled=False)
    matching.invalidate()
    assert categories("an ad for Acme soap") == {}


def test_block_action_is_reported():
    Category.objects.filter(key="copyrighted-ip").update(action=Category.Action.BLOCK)
    matching.invalidate()
    [match] = matching.check("Pikachu")
    assert match.blocks
    assert match.as_warning() == {"category": "copyrighted-ip", "terms": ["Pikachu"]}


def test_a_starter_categorys_name_is_said_in_the_readers_language_until_renamed():
    from django.utils import translation

    with translation.override("zh-hans"):
        (match,) = matching.check("a Pikachu plush")
        assert match.name == "受版权保护的角色、品牌和 IP"
        assert "受版权保护" in match.message
    with translation.override("en"):
        assert matching.check("a Pikachu plush")[0].name == "Copyrighted characters, brands and IP"
    Category.objects.filter(key="copyrighted-ip").update(name="他人的角色")
    matching.invalidate()
    with translation.override("en"):
        assert matching.check("a Pikachu plush")[0].name == "他人的角色"
