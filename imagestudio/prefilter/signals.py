from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from imagestudio.prefilter import matching
from imagestudio.prefilter.models import Category, Term


@receiver([post_save, post_delete], sender=Term)
@receiver([post_save, post_delete], sender=Category)
def _terms_changed(**kwargs: object) -> None:
    matching.invalidate()
