from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from imagestudio.accounts import signin
from imagestudio.web.jscatalog import javascript_catalog
from imagestudio.web.password_reset import password_reset

urlpatterns = [
    path("admin/", admin.site.urls),
    # The scripts' words (gettext() in static/*.js), also on the sign-in page; the URL
    # names the catalogue's digest, so browsers keep it until it changes.
    path(
        "jsi18n/<str:language>/<str:version>.js",
        javascript_catalog,
        name="javascript-catalog",
    ),
    # Before Django's own: offered only with e-mail configured, the same answer and time
    # for known and unknown addresses.
    path(
        "accounts/password_reset/",
        signin.local_signin_only(password_reset),
        name="password_reset",
    ),
    # The company's provider beside (or instead of) passwords.
    path("accounts/login/", signin.login, name="login"),
    path("accounts/logout/", signin.logout, name="logout"),
    path("accounts/oidc/", include("imagestudio.accounts.oidc_urls")),
    # Django's password pages, spelled out (rather than its auth.urls) so that each is
    # switched off with local sign-in.
    *(
        path(route, signin.local_signin_only(view), name=name)
        for route, view, name in (
            (
                "accounts/password_change/",
                auth_views.PasswordChangeView.as_view(),
                "password_change",
            ),
            (
                "accounts/password_change/done/",
                auth_views.PasswordChangeDoneView.as_view(),
                "password_change_done",
            ),
            (
                "accounts/password_reset/done/",
                auth_views.PasswordResetDoneView.as_view(),
                "password_reset_done",
            ),
            (
                "accounts/reset/<uidb64>/<token>/",
                auth_views.PasswordResetConfirmView.as_view(),
                "password_reset_confirm",
            ),
            (
                "accounts/reset/done/",
                auth_views.PasswordResetCompleteView.as_view(),
                "password_reset_complete",
            ),
        )
    ),
    path("account/", include("imagestudio.accounts.urls")),
    path("api/v1/", include("imagestudio.api.urls")),
    path("account/tokens/", include("imagestudio.api.token_urls")),
    path("spend/", include("imagestudio.spend.urls")),
    path("spend/gateway/", include("imagestudio.reconcile.urls")),
    path("audit/", include("imagestudio.audit.urls")),
    path("people/", include("imagestudio.accounts.people_urls")),
    path("kits/", include("imagestudio.campaigns.kit_urls")),
    # Batches and boards name their own paths (/batches/…, /boards/…, /downloads, stars).
    path("", include("imagestudio.campaigns.batch_urls")),
    path("", include("imagestudio.campaigns.board_urls")),
    path("", include("imagestudio.studio.urls")),
    path("", include("imagestudio.ops.urls")),
]
