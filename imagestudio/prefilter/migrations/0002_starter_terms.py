"""A useful starter set of terms; admins edit, extend or disable them in the Django admin."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

STARTER = {
    "real-people": (
        "Real people and celebrities",
        "Named public figures, politicians and celebrities: the gateway often refuses "
        "photorealistic images of real people, and such refusals are billed.",
        [
            "Taylor Swift",
            "Elon Musk",
            "Donald Trump",
            "Joe Biden",
            "Barack Obama",
            "Xi Jinping",
            "Vladimir Putin",
            "Kim Jong-un",
            "Jackie Chan",
            "Leonardo DiCaprio",
            "Beyoncé",
            "Cristiano Ronaldo",
            "Lionel Messi",
            "Michael Jordan",
            "Scarlett Johansson",
            "习近平",
            "特朗普",
            "拜登",
            "奥巴马",
            "普京",
            "马斯克",
            "成龙",
            "周杰伦",
            "刘德华",
            "杨幂",
            "范冰冰",
            "赵丽颖",
            "王一博",
            "肖战",
            "马云",
        ],
    ),
    "copyrighted-ip": (
        "Copyrighted characters, brands and IP",
        "Characters, franchises and brand marks owned by others: often refused (and billed), "
        "and risky to publish even when generated.",
        [
            "Mickey Mouse",
            "Disney",
            "Pikachu",
            "Pokémon",
            "Pokemon",
            "Mario",
            "Super Mario",
            "Hello Kitty",
            "Spider-Man",
            "Spiderman",
            "Batman",
            "Superman",
            "Iron Man",
            "Marvel",
            "Harry Potter",
            "Star Wars",
            "Darth Vader",
            "Elsa",
            "Frozen",
            "Naruto",
            "Doraemon",
            "Snoopy",
            "Minions",
            "Shrek",
            "Coca-Cola",
            "Nike",
            "Apple logo",
            "McDonald's",
            "Louis Vuitton",
            "Gucci",
            "Chanel",
            "米老鼠",
            "迪士尼",
            "皮卡丘",
            "宝可梦",
            "马里奥",
            "凯蒂猫",
            "蜘蛛侠",
            "蝙蝠侠",
            "超人",
            "钢铁侠",
            "漫威",
            "哈利波特",
            "星球大战",
            "冰雪奇缘",
            "火影忍者",
            "哆啦A梦",
            "机器猫",
            "史努比",
            "小黄人",
            "可口可乐",
            "耐克",
            "路易威登",
            "香奈儿",
        ],
    ),
    "sensitive": (
        "Sensitive topics",
        "Violence, weapons, extremism, explicit content and similar topics that the gateway's "
        "safety checks usually refuse.",
        [
            "nude",
            "naked",
            "nsfw",
            "porn",
            "sexual",
            "gore",
            "blood",
            "beheading",
            "terrorist",
            "terrorism",
            "bomb",
            "explosive",
            "gun",
            "rifle",
            "weapon",
            "nazi",
            "swastika",
            "suicide",
            "self-harm",
            "drugs",
            "cocaine",
            "heroin",
            "massacre",
            "genocide",
            "裸体",
            "色情",
            "性感裸露",
            "血腥",
            "暴力",
            "恐怖分子",
            "恐怖主义",
            "炸弹",
            "爆炸物",
            "枪支",
            "武器",
            "纳粹",
            "自杀",
            "自残",
            "毒品",
            "可卡因",
            "海洛因",
            "屠杀",
            "天安门",
        ],
    ),
}


def add(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Category = apps.get_model("prefilter", "Category")
    Term = apps.get_model("prefilter", "Term")
    for key, (name, description, terms) in STARTER.items():
        category, _ = Category.objects.get_or_create(
            key=key, defaults={"name": name, "description": description}
        )
        Term.objects.bulk_create(
            [Term(category=category, term=t) for t in terms], ignore_conflicts=True
        )


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("prefilter", "Category").objects.filter(key__in=STARTER).delete()


class Migration(migrations.Migration):
    dependencies = [("prefilter", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
