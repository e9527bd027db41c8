"""All configuration comes from the environment, with defaults that make `make run` work
on a fresh machine (SQLite, filesystem broker, local files, simulated gateway)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.utils.csp import CSP

from imagestudio.env import (
    EnvError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
)
from imagestudio.web.private import make_private

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("IMAGESTUDIO_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key() -> str:
    """From the environment, or generated once into the data dir (never in the repository)."""
    from_env = env_str("IMAGESTUDIO_SECRET_KEY") or env_str("DJANGO_SECRET_KEY")
    if from_env:
        return from_env
    path = DATA_DIR / "secret_key"
    try:
        # O_EXCL: two processes starting at once must not write two different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
make_private(DATA_DIR)  # 0700, and 0600 for the secret key and the SQLite files
DEBUG = env_bool("IMAGESTUDIO_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in env_str("IMAGESTUDIO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("IMAGESTUDIO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "imagestudio.studio",
    "imagestudio.spend",
    "imagestudio.prefilter",
    "imagestudio.api",
    "imagestudio.campaigns",
    "imagestudio.accounts",
    "imagestudio.audit",
    "imagestudio.reconcile",
    "imagestudio.routing",
    "axes",
]

MIDDLEWARE = [
    # First: an unknown Host header is a 400 before any middleware reads it (web.middleware).
    "imagestudio.web.middleware.UnknownHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything a poll of an unchanged page does not need (sessions, language,
    # CSRF, sign-in, audit, the view): its empty 204 costs one cache read.
    "imagestudio.middleware.UnchangedPollMiddleware",
    # Pages, fragments, JSON, the scripts' catalogue: gzipped (BREACH: web.compression).
    "imagestudio.web.compression.TextGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "imagestudio.audit.middleware.AuditMiddleware",
    "imagestudio.accounts.middleware.PreferenceMiddleware",
    # Before any view or CSRF check reads the body: its size limits and parse errors
    # (imagestudio.web); after the user and language are known, for the error page.
    "imagestudio.web.middleware.RequestGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "imagestudio.middleware.LoginRequiredMiddleware",
    # Last: turns a locked-out sign-in into the lockout page (imagestudio.web.signin).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "imagestudio.urls"
WSGI_APPLICATION = "imagestudio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "imagestudio.studio.context_processors.studio",
                "imagestudio.spend.alerts.notices",
                "imagestudio.accounts.signin.context",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A pool per process, not a connection kept by every thread: two workers of 64
        # threads and the web's threads kept 144 connections against PostgreSQL's
        # max_connections of 100, and a job whose claim could not connect was dropped
        # until the sweep re-sent it. A thread that finds the pool empty waits for one;
        # a worker gives its connection back while it waits on the gateway.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("IMAGESTUDIO_DB_POOL_SIZE", 10, minimum=1),
            "timeout": env_int("IMAGESTUDIO_DB_POOL_TIMEOUT", 60, minimum=1),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "imagestudio.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            # A file, not :memory:, so the worker threads of browser tests share it.
            "TEST": {"NAME": str(DATA_DIR / "test-db.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "imagestudio.sqlite3"):
    # Django's backend with each process's writers queued in order (imagestudio.sqlite3).
    DATABASES["default"]["ENGINE"] = "imagestudio.sqlite3"
    # Kept open per thread: opening SQLite and running its PRAGMAs costs ~1 ms a request.
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        # Dozens of worker threads write at once: WAL lets readers go on, IMMEDIATE takes
        # the write lock up front so two writers never deadlock upgrading a read lock.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and sessions -----------------------------------------------------------------
_cache_url = env_str("IMAGESTUDIO_CACHE_URL")
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
# Sessions read from the cache: the 2-second status poll must not cost a session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- auth -------------------------------------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# --- sign-in defences (django-axes) ---------------------------------------------------------
# N failed sign-ins for one user name, from any address, within the cool-off lock that name
# for the cool-off; the check runs before the password is hashed. Staff unlock in the admin
# (Axes › Access attempts: delete the row).
AUTHENTICATION_BACKENDS = [
    "imagestudio.web.signin.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("IMAGESTUDIO_SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("IMAGESTUDIO_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
# By design: a guesser rotating addresses must not get fresh tries (axes.W006 wants the
# address in the key, which would let exactly that through).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
# A locked name stays locked for the cool-off from its last counted failure, not forever
# while a script keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "imagestudio.web.signin.locked_out"
# Failed API tokens, per client address: the limit within the window blocks the address
# for the window (429 with Retry-After); each wrong token before that is a 401.
API_TOKEN_FAILURE_LIMIT = env_int("IMAGESTUDIO_API_TOKEN_FAILURE_LIMIT", 5, minimum=1)
API_TOKEN_FAILURE_WINDOW = 60 * env_int("IMAGESTUDIO_API_TOKEN_LOCKOUT_MINUTES", 15, minimum=1)
# Reverse proxies in front of the studio that append to X-Forwarded-For (0: clients connect
# directly). Without it, behind a proxy every client shares the proxy's address, and one
# client's wrong tokens would block everyone's.
PROXY_COUNT = env_int("IMAGESTUDIO_PROXY_COUNT", 0, minimum=0)

# --- company sign-in (OpenID Connect; imagestudio.accounts.oidc) ------------------------
# With an issuer set, the sign-in page offers "Sign in with <IMAGESTUDIO_OIDC_NAME>". The
# provider's endpoints come from its discovery document, fetched when first needed (never
# at start-up: a provider that is down must not keep the studio from starting).
OIDC_ISSUER = env_str("IMAGESTUDIO_OIDC_ISSUER").rstrip("/")
OIDC_NAME = env_str("IMAGESTUDIO_OIDC_NAME") or (urlsplit(OIDC_ISSUER).hostname or "")
OIDC_RP_CLIENT_ID = env_str("IMAGESTUDIO_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("IMAGESTUDIO_OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = env_str("IMAGESTUDIO_OIDC_SCOPES", "openid email profile groups")
OIDC_GROUPS_CLAIM = env_str("IMAGESTUDIO_OIDC_GROUPS_CLAIM", "groups")
OIDC_STAFF_GROUP = env_str("IMAGESTUDIO_OIDC_STAFF_GROUP")
OIDC_ALLOWED_GROUP = env_str("IMAGESTUDIO_OIDC_ALLOWED_GROUP")
OIDC_TIMEOUT = env_float("IMAGESTUDIO_OIDC_TIMEOUT", 5.0, minimum=0.1)
LOCAL_SIGNIN = env_bool("IMAGESTUDIO_LOCAL_SIGNIN", True)
if OIDC_ISSUER and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise EnvError(
        "IMAGESTUDIO_OIDC_ISSUER needs IMAGESTUDIO_OIDC_CLIENT_ID and "
        "IMAGESTUDIO_OIDC_CLIENT_SECRET (the studio's client at the provider)"
    )
if not LOCAL_SIGNIN and not OIDC_ISSUER:
    raise EnvError(
        "IMAGESTUDIO_LOCAL_SIGNIN=0 needs IMAGESTUDIO_OIDC_ISSUER, or nobody could sign in"
    )
# What mozilla-django-oidc reads (its endpoints are filled in from discovery).
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint that ends the provider's session too
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc:callback"
OIDC_CREATE_USER = True
OIDC_REDIRECT_REQUIRE_HTTPS = env_bool("IMAGESTUDIO_HTTPS", False)
if OIDC_ISSUER:
    AUTHENTICATION_BACKENDS.append("imagestudio.accounts.oidc.DirectoryBackend")
if not LOCAL_SIGNIN:
    AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Chosen from Accept-Language until the user picks one (then kept on their account);
# a browser that asks for neither gets LANGUAGE_CODE.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = "en"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("IMAGESTUDIO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
MEDIA_ROOT = DATA_DIR / "media"

S3_BUCKET = env_str("IMAGESTUDIO_S3_BUCKET")
# Who the AI-content label (GB 45438-2025's AIGC record) names as the images' producer
# and propagator: the company's name, or its filing number; the id prefixes content ids.
LABEL_PRODUCER = env_str("IMAGESTUDIO_LABEL_PRODUCER", "ImageStudio")
LABEL_PRODUCER_ID = env_str("IMAGESTUDIO_LABEL_PRODUCER_ID", "imagestudio")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("IMAGESTUDIO_S3_ENDPOINT_URL") or None,
            "access_key": env_str("IMAGESTUDIO_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("IMAGESTUDIO_S3_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("IMAGESTUDIO_S3_REGION") or None,
            "querystring_auth": True,
            "querystring_expire": 3600,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# --- security headers -------------------------------------------------------------------
_img_sources = [CSP.SELF, "data:", "blob:"]
if S3_BUCKET and env_str("IMAGESTUDIO_S3_ENDPOINT_URL"):
    _parts = urlsplit(env_str("IMAGESTUDIO_S3_ENDPOINT_URL"))
    _img_sources.append(f"{_parts.scheme}://{_parts.netloc}")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": _img_sources,
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The CSRF token reaches scripts through hx-headers on <body>, never through the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips a client's own).
HTTPS = env_bool("IMAGESTUDIO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Probes on the machine itself speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("IMAGESTUDIO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("IMAGESTUDIO_HSTS_INCLUDE_SUBDOMAINS", False)

# --- request bodies (imagestudio.web.uploads) -------------------------------------------
# Each uploaded file: the gateway's own limit per input picture.
MAX_UPLOAD_FILE_BYTES = env_int("IMAGESTUDIO_MAX_UPLOAD_FILE_BYTES", 10 * 1024 * 1024, minimum=1024)
# A whole request: four such pictures and the form around them.
MAX_REQUEST_BYTES = env_int("IMAGESTUDIO_MAX_REQUEST_BYTES", 41 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_HANDLERS = [
    "imagestudio.web.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- the gateway ------------------------------------------------------------------------
UPSTREAM_BASE_URL = env_str("IMAGESTUDIO_API_BASE_URL", "https://api.apiyi.com/v1").rstrip("/")
UPSTREAM_API_KEY = env_str("IMAGESTUDIO_API_KEY")
# True when the simulated gateway stands in: every page shows a banner then.
UPSTREAM_SIMULATED = env_bool("IMAGESTUDIO_SIMULATED", not UPSTREAM_API_KEY)
# Unset (None): each route's timeout per size comes from the catalog (360 s for -vip, 600 s
# for 4K, multi-reference and official calls). Set: it overrides every route.
UPSTREAM_TIMEOUT: float | None = (
    env_float("IMAGESTUDIO_UPSTREAM_TIMEOUT", 0.0, minimum=1.0)
    if os.environ.get("IMAGESTUDIO_UPSTREAM_TIMEOUT", "")
    else None
)
UPSTREAM_CONNECT_TIMEOUT = env_float("IMAGESTUDIO_UPSTREAM_CONNECT_TIMEOUT", 10.0, minimum=0.1)
UPSTREAM_MAX_ATTEMPTS = env_int("IMAGESTUDIO_UPSTREAM_MAX_ATTEMPTS", 3, minimum=1)
# Gateway calls in flight across every worker process (0: as many as the workers run).
UPSTREAM_MAX_IN_FLIGHT = env_int("IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT", 0, minimum=0)
UPSTREAM_RETRY_BASE_DELAY = env_float("IMAGESTUDIO_RETRY_BASE_DELAY", 2.0, minimum=0.0)
UPSTREAM_RESPONSE_FORMAT = env_choice("IMAGESTUDIO_RESPONSE_FORMAT", "url", {"url", "b64_json"})
DOWNLOAD_TIMEOUT = env_float("IMAGESTUDIO_DOWNLOAD_TIMEOUT", 60.0, minimum=1.0)
DOWNLOAD_MAX_BYTES = env_int("IMAGESTUDIO_DOWNLOAD_MAX_BYTES", 64 * 1024 * 1024, minimum=1024)
DOWNLOAD_MAX_ATTEMPTS = env_int("IMAGESTUDIO_DOWNLOAD_MAX_ATTEMPTS", 3, minimum=1)
# Pillow refuses images over this many pixels (decompression bombs); 4K is ~12.4 MP.
MAX_IMAGE_PIXELS = env_int("IMAGESTUDIO_MAX_IMAGE_PIXELS", 40_000_000, minimum=1_000_000)

# A running job whose worker has not beaten its heart for this long is declared lost
# (failed `worker_lost`, billed): at the sweep after STALE_RUNNING_SECONDS, so at most
# STALE_RUNNING_SECONDS + SWEEP_SECONDS after its worker died.
STALE_RUNNING_SECONDS = env_int("IMAGESTUDIO_STALE_RUNNING_SECONDS", 180, minimum=2)
HEARTBEAT_SECONDS = env_int("IMAGESTUDIO_HEARTBEAT_SECONDS", 30, minimum=1)
if STALE_RUNNING_SECONDS <= 2 * HEARTBEAT_SECONDS:
    raise EnvError(
        "IMAGESTUDIO_STALE_RUNNING_SECONDS must be more than twice "
        "IMAGESTUDIO_HEARTBEAT_SECONDS, or a live worker's job is declared lost"
    )
# How often the sweep runs (celery beat): a queued job whose message was lost is sent
# again within REQUEUE_QUEUED_SECONDS + SWEEP_SECONDS (45 s by default).
SWEEP_SECONDS = env_int("IMAGESTUDIO_SWEEP_SECONDS", 15, minimum=1)
# GET /metrics for this bearer token (besides staff); unset: staff only.
METRICS_TOKEN = env_str("IMAGESTUDIO_METRICS_TOKEN")
# A queued job whose message is this old is enqueued again (harmless: the claim is
# conditional); a job waiting its turn is re-sent ever more rarely (Generation.take_unsent).
REQUEUE_QUEUED_SECONDS = env_int("IMAGESTUDIO_REQUEUE_QUEUED_SECONDS", 30, minimum=5)


# --- the gateway's own books (imagestudio.reconcile) -------------------------------------
# The Log Query API's system token (not the API key): sent as it is, never logged, rendered
# or returned. Unset: reconciliation says so on its page and does nothing else.
GATEWAY_SYSTEM_TOKEN = env_str("IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN")
GATEWAY_LOG_BASE_URL = env_str(
    "IMAGESTUDIO_GATEWAY_LOG_BASE_URL",
    "{0.scheme}://{0.netloc}".format(urlsplit(UPSTREAM_BASE_URL.split(",")[0].strip())),
).rstrip("/")
# At most one log request per this many seconds; 429/5xx back off from GATEWAY_LOG_BACKOFF.
GATEWAY_LOG_MIN_INTERVAL = env_float("IMAGESTUDIO_GATEWAY_LOG_MIN_INTERVAL", 0.5, minimum=0.0)
GATEWAY_LOG_BACKOFF = env_float("IMAGESTUDIO_GATEWAY_LOG_BACKOFF", 2.0, minimum=0.0)
GATEWAY_LOG_TIMEOUT = env_float("IMAGESTUDIO_GATEWAY_LOG_TIMEOUT", 30.0, minimum=1.0)
# How far apart (seconds) a log row's time and its attempt's may be when matched without a
# request id: the gateway's clock may be minutes off ours.
RECONCILE_WINDOW_SECONDS = env_int("IMAGESTUDIO_RECONCILE_WINDOW_SECONDS", 600, minimum=1)
# A row no attempt matches is "unknown here" only after this long (a dead worker's call is
# written by the sweep within STALE_RUNNING_SECONDS + SWEEP_SECONDS).
RECONCILE_SETTLE_SECONDS = env_int(
    "IMAGESTUDIO_RECONCILE_SETTLE_SECONDS",
    STALE_RUNNING_SECONDS + SWEEP_SECONDS + 60,
    minimum=0,
)
RECONCILE_EVERY_SECONDS = env_int("IMAGESTUDIO_RECONCILE_EVERY_SECONDS", 3600, minimum=60)


# --- e-mail and budget alerts -----------------------------------------------------------
def _email(url: str) -> dict[str, object]:
    """IMAGESTUDIO_EMAIL_URL: smtp://[user:password@]host[:port] (STARTTLS with ?tls=1, or
    port 587), smtps://… for TLS from the start (port 465)."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise EnvError(f"IMAGESTUDIO_EMAIL_URL={url!r}: use smtp://user:password@host:port")
    implicit_tls = parts.scheme == "smtps"
    port = parts.port or (465 if implicit_tls else 25)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": implicit_tls,
        "EMAIL_USE_TLS": not implicit_tls and ("tls=1" in parts.query or port == 587),
        "EMAIL_TIMEOUT": 30,
    }


# Without a URL, e-mail is written as files under <data dir>/mail/ (nothing is sent).
_email_url = env_str("IMAGESTUDIO_EMAIL_URL")
EMAIL_CONFIGURED = bool(_email_url)
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
if _email_url:
    globals().update(_email(_email_url))
DEFAULT_FROM_EMAIL = env_str("IMAGESTUDIO_EMAIL_FROM", "imagestudio@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Budget alerts are also POSTed here as JSON when set (spend.alerts).
ALERT_WEBHOOK_URL = env_str("IMAGESTUDIO_ALERT_WEBHOOK_URL")

# --- celery -----------------------------------------------------------------------------
_broker_dir = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's own writes a message in place, where a polling worker can read it half
    # written and stop (imagestudio/broker.py).
    CELERY_BROKER_TRANSPORT = "imagestudio.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is "control" relative to the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu looks for new message files once a second by default: a second of dead
        # time before every image starts. Every 50 ms costs a directory listing: an idle
        # worker used 5 ms of CPU a second (3 ms at 0.1 s); a batch waits for two
        # listings (its fan-out message, then the image's own).
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# The calls are I/O-bound (30–150 s each, threads waiting on the gateway): a waiting thread
# costs little memory and no database connection (a pool per process, given back for the
# wait), and the pictures' decoding has its own slots (studio.inputs). 128 makes 200 images
# on two workers one wave (bench i: 157 MiB peak RSS a worker, at most 36 PostgreSQL
# connections in all, as at 64).
CELERY_WORKER_CONCURRENCY = env_int("IMAGESTUDIO_WORKER_CONCURRENCY", 128, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A 403 or 404 is one line, not a traceback (web.logs).
    "filters": {"client_errors": {"()": "imagestudio.web.logs.ClientErrorsOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("IMAGESTUDIO_LOG_LEVEL", "INFO")},
    # httpx logs every request line at INFO; the key is in a header, not the line, but keep
    # the noise down all the same.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors"]},
    },
}

__all__ = ["EnvError"]
