"""Settings, all read from the environment (or a .env file) with python-decouple.

Defaults give a working development shop on SQLite. Production sets
DJANGO_ENV=production, which turns on the secure-cookie/HSTS/SSL settings that
`manage.py check --deploy` asks for and refuses to start without a real
SECRET_KEY.
"""
from datetime import timedelta
from pathlib import Path

import dj_database_url
from decouple import Csv, config
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = config("DJANGO_ENV", default="development") == "production"
DEBUG = config("DEBUG", default=not PRODUCTION, cast=bool)

_DEV_SECRET = "dev-only-insecure-key-change-me-in-production-0123456789abcdef"
SECRET_KEY = config("SECRET_KEY", default=_DEV_SECRET)
if PRODUCTION and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")

ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="127.0.0.1,localhost,testserver", cast=Csv())
CSRF_TRUSTED_ORIGINS = config("CSRF_TRUSTED_ORIGINS", default="", cast=Csv())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "axes",
    "csp",
    "main",
    "search",
    "accounts",
    "seller_accounts",
    "cart",
    "shop_ml",
    "experiments",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fashionshop.middleware.RefuseControlCharactersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fashionshop.middleware.DatabaseUnavailableMiddleware",
    "fashionshop.middleware.RefuseOverflowingNumbersMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fashionshop.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "main.context_processors.shop",
                "cart.context_processors.cart",
            ],
        },
    },
]

WSGI_APPLICATION = "fashionshop.wsgi.application"

# DATABASE_URL: sqlite:///path, postgres://user:pass@host:5432/name, or
# mssql://user:pass@host:1433/name?driver=ODBC+Driver+18+for+SQL+Server (see README).
DATABASES = {
    "default": dj_database_url.parse(
        config("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=config("DB_CONN_MAX_AGE", default=60, cast=int),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "sql_server.pyodbc":
    # dj-database-url maps mssql:// to a long-dead backend; mssql-django is the maintained one.
    DATABASES["default"]["ENGINE"] = "mssql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent requests (gunicorn workers, tests with threads) need WAL and a busy timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UserWithStoreBackend",
]
LOGIN_URL = "accounts:login"

# Password guessing (shop and admin login): LOGIN_FAILURE_LIMIT wrong passwords for one
# username, or from one client address, lock it for LOGIN_LOCKOUT_MINUTES. Staff unlock
# in the admin (Axes › Access attempts) or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = config("LOGIN_FAILURE_LIMIT", default=5, cast=int)
AXES_COOLOFF_TIME = timedelta(minutes=config("LOGIN_LOCKOUT_MINUTES", default=15, cast=int))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "fashionshop.http.client_address"
AXES_USERNAME_CALLABLE = "fashionshop.http.login_username"
# Where the client address is read (first present wins): behind nginx (production) the
# X-Real-IP it sets; without a proxy, a client-supplied header would let a guesser pick a
# fresh address per attempt.
CLIENT_IP_HEADERS = config(
    "CLIENT_IP_HEADERS", default="HTTP_X_REAL_IP,REMOTE_ADDR" if PRODUCTION else "REMOTE_ADDR", cast=Csv()
)
# Photo search runs a neural network per upload: anonymous callers get this many a minute
# per address, and each worker runs this many forward passes at once (more wait, then 503).
PHOTO_SEARCH_ANONYMOUS_PER_MINUTE = config("PHOTO_SEARCH_ANONYMOUS_PER_MINUTE", default=10, cast=int)
ML_FORWARD_PASSES_PER_WORKER = config("ML_FORWARD_PASSES_PER_WORKER", default=1, cast=int)
ML_FORWARD_PASS_WAIT_SECONDS = config("ML_FORWARD_PASS_WAIT_SECONDS", default=5, cast=float)
LOGIN_REDIRECT_URL = "main:home"
# What else happens when a buyer signs in or signs up: each step is called with the
# session key from before login() rotated it and the user, and returns notes to show.
# Named here so that accounts imports no app above it.
SIGN_IN_STEPS = ["cart.services.merge_cart_at_sign_in"]
LOGOUT_REDIRECT_URL = "main:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = config("TIME_ZONE", default="UTC")
# The shop speaks English only; translation machinery would cost every URL and template lookup.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(config("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(config("MEDIA_ROOT", default=str(BASE_DIR / "media")))
SERVE_MEDIA = config("SERVE_MEDIA", default=not PRODUCTION, cast=bool)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Content-Security-Policy on every response (django-csp). Every script is a file under
# /static/ (Bootstrap, htmx and Chart.js are vendored), so no inline script runs. Style
# attributes stay allowed (templates size a few elements inline) but <style> elements do
# not; htmx is told not to inject its indicator styles (templates/base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],  # Bootstrap draws its form controls from data: SVGs
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Refusals on /api/ (including a failed CSRF check) are JSON like its answers.
CSRF_FAILURE_VIEW = "fashionshop.errors.csrf_failure"

# Uploads: photos are checked by content, limited in size and re-encoded (main/images.py).
MAX_UPLOAD_BYTES = config("MAX_UPLOAD_BYTES", default=5 * 1024 * 1024, cast=int)
MAX_IMAGE_PIXELS = config("MAX_IMAGE_PIXELS", default=25_000_000, cast=int)
# JPEGs decode at a reduced scale; other formats decode in full, so they get less (a 4K screen).
MAX_DECODED_PIXELS = config("MAX_DECODED_PIXELS", default=9_000_000, cast=int)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024

# Machine learning artifacts (joblib, .pt), loaded lazily once per process.
MODELS_DIR = Path(config("MODELS_DIR", default=str(BASE_DIR / "models")))
# Photo search: an exported .onnx image encoder to use instead of the trained or shipped
# one; how much the colour histogram weighs in each image embedding (empty: the weight
# tuned on the validation split, ml/vision/search.py); ONNX Runtime threads per forward
# pass (one: on shared cores two threads spin-waiting for each other are slower).
IMAGE_ENCODER = config("IMAGE_ENCODER", default="")
IMAGE_COLOUR_WEIGHT = config("IMAGE_COLOUR_WEIGHT", default="", cast=lambda v: float(v) if v else None)
IMAGE_THREADS = config("IMAGE_THREADS", default=1, cast=int)

# Background work: Celery with Redis when a broker is configured, else in-process.
CELERY_BROKER_URL = config("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = config("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Long ML jobs: take one at a time, acknowledge only when done so a crash re-queues it.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True

# Order confirmations: printed to the console unless SMTP is configured.
EMAIL_BACKEND = config("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = config("EMAIL_HOST", default="localhost")
EMAIL_PORT = config("EMAIL_PORT", default=25, cast=int)
EMAIL_HOST_USER = config("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = config("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = config("EMAIL_USE_TLS", default=False, cast=bool)
DEFAULT_FROM_EMAIL = config("DEFAULT_FROM_EMAIL", default="shop@localhost")

CURRENCY_SYMBOL = config("CURRENCY_SYMBOL", default="₹")
SHOP_NAME = config("SHOP_NAME", default="Fashion Shop")

# One cache shared by every worker (and machine) when REDIS_URL or CACHE_URL names a
# Redis; without one each process keeps its own (`make run`). An unreachable Redis
# is a miss, never an error (fashionshop/cache.py).
CACHE_URL = config("REDIS_URL", default="") or config("CACHE_URL", default="")
CACHES = {
    "default": {
        "BACKEND": "fashionshop.cache.ResilientRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "fashionshop",
        # A Redis that does not answer must not hold a page for long.
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
    } if CACHE_URL else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fashionshop",
    }
}

# Sessions are read from the cache and written through to the database: every page
# reads the shopper's session, and the row is only needed when the cache lost it.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "fashionshop.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": config("LOG_FORMAT", default="json" if PRODUCTION else "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": config("LOG_LEVEL", default="INFO")},
    # django-axes logs every check at INFO; its failures and lockouts are WARNINGs.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = config("SECURE_SSL_REDIRECT", default=True, cast=bool)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = config("SECURE_HSTS_SECONDS", default=31536000, cast=int)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
