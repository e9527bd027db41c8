"""Company sign-in against a real OpenID Connect provider on loopback (tests/oidc): the
studio's side through Django's test client, the browser's side at the provider through
httpx. One browser journey is in test_browser_signin.py."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from imagestudio.accounts import oidc
from imagestudio.accounts.models import Identity
from imagestudio.api.models import ApiToken
from imagestudio.audit.models import AuditEntry
from imagestudio.spend.models import Membership
from tests.factories import bearer, make_team, make_token, make_user
from tests.oidc_provider import running_provider, use_provider

pytestmark = pytest.mark.django_db
CALLBACK = "http://testserver/accounts/oidc/callback/"
User = get_user_model()


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    with running_provider(
        tmp_path_factory.mktemp("directory"), [CALLBACK], ["http://testserver/accounts/login/"]
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _studio_uses_it(settings, directory):
    directory.users.clear()
    directory.code_ttl = 60
    directory.save()
    use_provider(settings, directory.issuer)


def to_provider(client: Client, next_url: str = "/") -> str:
    response = client.get("/accounts/oidc/start/?" + urlencode({"next": next_url}))
    assert response.status_code == 302, response.content
    return response["Location"]


def at_provider(authorize_url: str, name: str, password: str) -> str:
    """The browser's part at the provider: its sign-in form, then back to the studio.
    Returns the studio URL the provider redirects to."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        url, response = authorize_url, browser.get(authorize_url)
        for _ in range(10):
            if response.status_code in (302, 303):
                url = httpx.URL(url).join(response.headers["location"])
                if url.host == "testserver":
                    return str(url)
                response = browser.get(url)
            elif response.status_code == 200 and 'name="login"' in response.text:
                form = urlsplit(str(url))._replace(path=f"{urlsplit(str(url)).path}/login")
                response = browser.post(form.geturl(), data={"login": name, "password": password})
            else:
                raise AssertionError(f"{response.status_code} at the provider: {response.text}")
    raise AssertionError("the provider never sent the browser back")


def sign_in(client: Client, name: str, password: str, next_url: str = "/"):
    back = at_provider(to_provider(client, next_url), name, password)
    return client.get(back.removeprefix("http://testserver"))


def signed_in_as(client: Client):
    return client.get("/account/").wsgi_request.user


def test_first_sign_in_creates_the_user_with_pkce_and_lands_where_asked(directory):
    password = directory.add("ada", groups=["Design"], email="ada@company.test")
    make_team("Design")
    client = Client()
    authorize = to_provider(client, "/gallery/")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{directory.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0]
    assert query["redirect_uri"] == [CALLBACK]

    response = client.get(at_provider(authorize, "ada", password).removeprefix("http://testserver"))

    assert response.status_code == 302 and response["Location"] == "/gallery/"
    user = User.objects.get(username="ada")
    assert user.email == "ada@company.test" and not user.has_usable_password()
    assert list(user.teams.values_list("name", flat=True)) == ["Design"]
    assert Identity.objects.get(user=user).subject == "ada"
    assert signed_in_as(client) == user
    # The team join is in the audit log, as ada's own.
    joined = AuditEntry.objects.get(object_type="membership", action="created")
    assert joined.actor_name == "ada"


def test_group_mapping_changes_on_the_next_sign_in(directory, caplog):
    design, video = make_team("Design"), make_team("Video")
    by_hand = make_team("Launch")
    password = directory.add("bo", groups=["Design", "studio-admins", "Finance"])
    with caplog.at_level(logging.INFO, logger="imagestudio.accounts.directory"):
        assert sign_in(Client(), "bo", password).status_code == 302
        assert sign_in(Client(), "bo", password).status_code == 302
    bo = User.objects.get(username="bo")
    assert bo.is_staff and set(bo.teams.all()) == {design}
    # The unknown group is ignored and said once, not at each sign-in.
    unknown = [r for r in caplog.records if "Finance" in r.getMessage()]
    assert len(unknown) == 1
    Membership.objects.create(team=by_hand, user=bo)

    directory.users["bo"]["groups"] = ["Video"]
    directory.save()
    assert sign_in(Client(), "bo", password).status_code == 302

    bo.refresh_from_db()
    assert not bo.is_staff
    # Design left with its group; Launch was staff's doing and stays.
    assert set(bo.teams.all()) == {video, by_hand}


def test_a_user_removed_from_the_directory_cannot_sign_in_again(directory):
    password = directory.add("cy", groups=[])
    assert sign_in(Client(), "cy", password).status_code == 302
    del directory.users["cy"]
    directory.save()
    with httpx.Client(follow_redirects=True) as browser:
        form = browser.get(to_provider(Client()))
        refused = browser.post(
            str(form.url).rstrip("/") + "/login", data={"login": "cy", "password": password}
        )
    assert "Unknown user or wrong password" in refused.text


def test_only_the_allowed_group_gets_in(directory, settings):
    settings.OIDC_ALLOWED_GROUP = "studio-users"
    password = directory.add("di", groups=["studio-users"])
    assert sign_in(Client(), "di", password).status_code == 302
    _, raw = make_token(User.objects.get(username="di"))

    directory.users["di"]["groups"] = []
    directory.save()
    client = Client()
    refused = sign_in(client, "di", password)

    assert refused.status_code == 403
    assert "may not use the studio" in refused.content.decode()
    assert not signed_in_as(client).is_authenticated
    # A leaver is deactivated when they come: their API tokens stop working too.
    assert not User.objects.get(username="di").is_active
    assert Client().get("/api/v1/tokens", headers=bearer(raw)).status_code == 401


def test_a_wrong_state_is_refused(directory):
    password = directory.add("ed", groups=[])
    client = Client()
    back = at_provider(to_provider(client), "ed", password)
    parts = urlsplit(back)
    query = parse_qs(parts.query)
    query["state"] = ["not-the-state-we-sent"]

    response = client.get(f"{parts.path}?{urlencode(query, doseq=True)}")

    assert response.status_code == 400
    assert "was not started here" in response.content.decode()
    assert not User.objects.filter(username="ed").exists()


def test_a_wrong_nonce_is_refused(directory):
    password = directory.add("fay", groups=[])
    client = Client()
    back = at_provider(to_provider(client), "fay", password)
    # As if the id token had been issued to another sign-in (a replay).
    session = client.session
    for entry in session["oidc_states"].values():
        entry["nonce"] = "another-sign-ins-nonce"
    session.save()

    response = client.get(back.removeprefix("http://testserver"))

    assert response.status_code == 400
    assert "did not check out" in response.content.decode()
    assert not User.objects.filter(username="fay").exists()


def test_an_expired_code_is_refused(directory):
    import time

    directory.code_ttl = 1
    password = directory.add("gus", groups=[])
    client = Client()
    back = at_provider(to_provider(client), "gus", password)
    time.sleep(1.2)

    response = client.get(back.removeprefix("http://testserver"))

    assert response.status_code == 400
    assert not User.objects.filter(username="gus").exists()


def test_an_invited_address_is_joined_at_the_first_sign_in(directory):
    invited = make_user("hana.local", email="hana@company.test", password=None)
    password = directory.add("hana", groups=[], email="hana@company.test")

    assert sign_in(Client(), "hana", password).status_code == 302

    assert Identity.objects.get(subject="hana").user == invited
    assert User.objects.count() == 1


def test_a_deactivated_user_cannot_sign_in_nor_use_their_tokens(directory):
    password = directory.add("ivo", groups=[])
    client = Client()
    assert sign_in(client, "ivo", password).status_code == 302
    ivo = User.objects.get(username="ivo")
    _, raw = make_token(ivo)
    assert Client().get("/api/v1/tokens", headers=bearer(raw)).status_code == 200

    User.objects.filter(pk=ivo.pk).update(is_active=False)

    assert Client().get("/api/v1/tokens", headers=bearer(raw)).status_code == 401
    # Their open session ends at its next request, and the provider's word is not enough.
    assert not signed_in_as(client).is_authenticated
    assert sign_in(Client(), "ivo", password).status_code == 403
    assert ApiToken.objects.filter(user=ivo).exists()


def test_sign_out_ends_the_provider_session_too(directory):
    password = directory.add("jo", groups=[])
    client = Client()
    sign_in(client, "jo", password)

    response = client.post("/accounts/logout/")

    # A page that moves on by itself (a form's redirect to another site is refused by the
    # browser: CSP form-action 'self'), to a redirect that carries the id token: the token
    # is never in a page.
    assert response.status_code == 200
    page = response.content.decode()
    assert 'content="0;url=/accounts/oidc/end/"' in page
    assert "id_token_hint" not in page and "eyJ" not in page
    assert not signed_in_as(client).is_authenticated
    end_url = client.get("/accounts/oidc/end/")["Location"]
    end = urlsplit(end_url)
    query = parse_qs(end.query)
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{directory.issuer}/session/end"
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    ended = httpx.get(end_url)
    assert ended.status_code == 200  # the provider's "sign out?" page: the hint was good
    # The hint is used up: a second visit carries none.
    again = parse_qs(urlsplit(client.get("/accounts/oidc/end/")["Location"]).query)
    assert "id_token_hint" not in again


def test_a_provider_that_is_down_gives_a_clear_page_and_local_sign_in(settings):
    use_provider(settings, "http://127.0.0.1:9")  # nothing listens on the discard port
    response = Client().get("/accounts/oidc/start/")

    assert response.status_code == 503
    page = response.content.decode()
    assert "cannot be reached or is not set up correctly" in page
    assert 'name="password"' in page


def test_a_provider_with_a_wrong_discovery_document_gives_the_same_page(settings, directory):
    # The document names its own issuer; one configured with a trailing path does not match.
    use_provider(settings, directory.issuer + "/other")
    response = Client().get("/accounts/oidc/start/")
    assert response.status_code == 503


def test_local_sign_in_switched_off_offers_only_the_provider(settings, directory):
    make_user("kim", password="a long test password")
    use_provider(settings, directory.issuer, LOCAL_SIGNIN=False)
    client = Client()

    page = client.get("/accounts/login/").content.decode()
    refused = client.post(
        "/accounts/login/", {"username": "kim", "password": "a long test password"}
    )

    assert "Sign in with Test Directory" in page and 'name="password"' not in page
    assert refused.status_code == 403
    assert not signed_in_as(client).is_authenticated


def test_a_wrong_client_secret_is_a_clear_page_not_a_refusal_of_the_person(directory, settings):
    password = directory.add("lou", groups=[])
    client = Client()
    back = at_provider(to_provider(client), "lou", password)
    settings.OIDC_RP_CLIENT_SECRET = "not the secret the provider knows"

    response = client.get(back.removeprefix("http://testserver"))

    assert response.status_code == 503
    assert "not set up correctly" in response.content.decode()
    assert not User.objects.filter(username="lou").exists()


def test_behind_a_tls_proxy_the_provider_is_told_https_addresses(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.OIDC_REDIRECT_REQUIRE_HTTPS = True
    client = Client()

    authorize = client.get(
        "/accounts/oidc/start/?next=http://elsewhere.test/",
        headers={"X-Forwarded-Proto": "https"},
        SERVER_PORT="443",
    )["Location"]

    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [
        "https://testserver/accounts/oidc/callback/"
    ]
    # A next address on another site is dropped, not followed after sign-in.
    assert client.session["oidc_login_next"] is None


def test_the_password_lockout_still_guards_local_sign_in_beside_the_provider(settings, directory):
    from tests.factories import PASSWORD

    make_user("max")
    use_provider(settings, directory.issuer)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "max", "password": "wrong"})

    locked = client.post("/accounts/login/", {"username": "max", "password": PASSWORD})

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "locked for" in page and "Sign in with Test Directory" in page


def test_the_sign_in_page_never_waits_for_a_provider_that_is_down(settings):
    # Discovery happens at the click, not when the studio starts or draws the page.
    use_provider(settings, "http://127.0.0.1:9")
    page = Client().get("/accounts/login/")
    assert page.status_code == 200
    assert "Sign in with Test Directory" in page.content.decode()
    assert oidc._cache == {}


def test_a_superuser_s_address_is_never_taken_over_by_a_directory_account(directory):
    boss = make_user("boss", superuser=True, email="boss@company.test")
    password = directory.add("impostor", groups=[], email="boss@company.test")

    assert sign_in(Client(), "impostor", password).status_code == 302

    assert Identity.objects.get(subject="impostor").user != boss
    assert not boss.identities.exists()


def test_staff_see_who_signs_in_through_the_directory_in_the_admin(directory, admin_client_):
    password = directory.add("ned", groups=[])
    sign_in(Client(), "ned", password)

    page = admin_client_.get("/admin/accounts/identity/")

    assert page.status_code == 200 and "ned" in page.content.decode()
    assert admin_client_.get("/admin/accounts/identity/add/").status_code == 403
