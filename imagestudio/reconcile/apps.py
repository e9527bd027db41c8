from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "imagestudio.reconcile"
    label = "reconcile"
    verbose_name = "Reconciliation"
