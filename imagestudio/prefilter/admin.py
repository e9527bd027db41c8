from django.contrib import admin

from imagestudio.prefilter.models import Category, Term


class TermInline(admin.TabularInline):
    model = Term
    extra = 3


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "action"]
    list_editable = ["action"]
    inlines = [TermInline]


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["term", "category", "enabled"]
    list_filter = ["category", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["term"]
