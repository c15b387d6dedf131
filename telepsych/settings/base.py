"""telepsych settings shared by every entry point. Everything comes from the environment.

Processes load `telepsych.settings.default`, which adds the production gate; the test suite
loads `telepsych.settings.test`. See README and .env.example for every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("TELEPSYCH_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "insecure-development-key-only-for-DJANGO_DEBUG"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "scheduling",
    "sessions.apps.TherapySessionsConfig",
    "records",
    "crisis",
    "telepsych",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.StaffMfaRequiredMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "telepsych.urls"
ASGI_APPLICATION = "telepsych.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "telepsych.common.context_processors.navigation",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # daphne runs sync views in worker threads, so persistent connections pile up; Django's
        # advice for ASGI is psycopg's pool instead (CONN_MAX_AGE must then be 0).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("TELEPSYCH_DB_POOL_SIZE", 20),
            "timeout": 10,
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "telepsych.sqlite3",
            # Write transactions take the lock up front, so they serialize instead of failing.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker -----------------------------------------------
REDIS_URL = env_str("REDIS_URL")
REDIS_MAX_CONNECTIONS = env_int("TELEPSYCH_REDIS_MAX_CONNECTIONS", 1000)
if REDIS_URL:
    # Pub/sub layer (video issue): measured ~2x the default RedisChannelLayer's rate without its
    # silent drops past per-channel `capacity`; it publishes over one connection per process
    # (under a lock) plus one subscriber connection, so the pool size only bounds a surprise.
    # Peers of one call in the same process skip the layer (TELEPSYCH_SIGNAL_FAST_PATH).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL,
                                  "max_connections": REDIS_MAX_CONNECTIONS}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "telepsych",
            "OPTIONS": {"max_connections": REDIS_MAX_CONNECTIONS},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}  # filled by telepsych.celery from each app's schedule

# --- Auth and accounts --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[telepsych] "
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.PatientSignupForm"
ACCOUNT_SESSION_REMEMBER = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "telepsych"

# Idle sessions expire; staff sooner. The session key is cycled at login (django.contrib.auth).
TELEPSYCH_STAFF_IDLE_SECONDS = env_int("TELEPSYCH_STAFF_IDLE_SECONDS", 15 * 60)
TELEPSYCH_PATIENT_IDLE_SECONDS = env_int("TELEPSYCH_PATIENT_IDLE_SECONDS", 60 * 60)
TELEPSYCH_INVITE_VALID_FOR = timedelta(days=env_int("TELEPSYCH_INVITE_VALID_DAYS", 7))
SESSION_COOKIE_AGE = TELEPSYCH_PATIENT_IDLE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Encryption (records issue) -------------------------------------------------------------------
# "kid:base64-32-byte-key,kid:key", newest first. Development generates one into var/.
TELEPSYCH_ENCRYPTION_KEYS = env_str("TELEPSYCH_ENCRYPTION_KEYS")
# allauth's TOTP secrets and recovery-code seeds go through records.encryption.
MFA_ADAPTER = "records.mfa.MfaAdapter"
# A clinic admin's break-glass access to one patient's record lasts this long.
TELEPSYCH_BREAK_GLASS_SECONDS = env_int("TELEPSYCH_BREAK_GLASS_SECONDS", 60 * 60)

# --- Email ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "telepsych <no-reply@telepsych.local>")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or None

# --- Language and time -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("vi", _("Vietnamese"))]
# Our catalog first; locale-allauth/ holds Vietnamese for allauth's pages (allauth ships none).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale-allauth"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# Times are stored in UTC; staff without a profile zone (clinic admins) see the clinic's zone.
TELEPSYCH_CLINIC_TIME_ZONE = env_str("TELEPSYCH_CLINIC_TIME_ZONE", "Asia/Ho_Chi_Minh")

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -----------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere: every script is a file under static/js.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF, "ws:", "wss:"] if DEBUG else [SELF, "wss:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Scheduling (scheduling issue) ----------------------------------------------------------------
# Patients may cancel or reschedule online up to this many hours before the start.
TELEPSYCH_CANCEL_WINDOW_HOURS = env_int("TELEPSYCH_CANCEL_WINDOW_HOURS", 24)
# Reminder emails this many hours before each appointment (comma-separated).
TELEPSYCH_REMINDER_HOURS = [float(h) for h in env_list("TELEPSYCH_REMINDER_HOURS", ["24", "1"])]
# Links in reminder emails use TELEPSYCH_SITE_URL (defined with the crisis settings below).

# --- Video calls (video issue) ------------------------------------------------------------------
TELEPSYCH_STUN_URLS = env_list("TELEPSYCH_STUN_URLS")
TELEPSYCH_TURN_URLS = env_list("TELEPSYCH_TURN_URLS")
TELEPSYCH_TURN_SECRET = env_str("TELEPSYCH_TURN_SECRET")
# sessions app: the join window, TURN credential lifetime, and the signaling socket's limits.
TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE = env_int("TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE", 15)
TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER = env_int("TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER", 30)
TELEPSYCH_TURN_TTL_SECONDS = env_int("TELEPSYCH_TURN_TTL_SECONDS", 4 * 3600)
TELEPSYCH_SIGNAL_MAX_FRAME_BYTES = 64 * 1024
TELEPSYCH_SIGNAL_RATE_PER_SECOND = env_int("TELEPSYCH_SIGNAL_RATE_PER_SECOND", 30)
TELEPSYCH_SIGNAL_BURST = env_int("TELEPSYCH_SIGNAL_BURST", 120)
TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER = env_int("TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER", 40)
# Relay straight to the other peer's socket when both are in this process (off: always the layer).
TELEPSYCH_SIGNAL_FAST_PATH = env_bool("TELEPSYCH_SIGNAL_FAST_PATH", default=True)

# --- Secure messaging (messaging issue) -------------------------------------------------------------
# Per-user rate limit on chat messages (all threads, socket and form alike).
TELEPSYCH_CHAT_RATE_LIMIT = env_int("TELEPSYCH_CHAT_RATE_LIMIT", 20)
TELEPSYCH_CHAT_RATE_WINDOW_SECONDS = env_int("TELEPSYCH_CHAT_RATE_WINDOW_SECONDS", 10)
# "You have a new secure message" email: after this long unread, at most once per thread this often.
TELEPSYCH_CHAT_EMAIL_AFTER_SECONDS = env_int("TELEPSYCH_CHAT_EMAIL_AFTER_SECONDS", 10 * 60)
TELEPSYCH_CHAT_EMAIL_EVERY_SECONDS = env_int("TELEPSYCH_CHAT_EMAIL_EVERY_SECONDS", 60 * 60)

# --- Crisis (crisis issue) ----------------------------------------------------------------------
# Unacknowledged crisis alerts escalate to on-call clinicians and clinic admins after this long,
# then again every TELEPSYCH_CRISIS_ESCALATE_REPEAT_SECONDS until someone acknowledges.
TELEPSYCH_CRISIS_ESCALATE_AFTER_SECONDS = env_int("TELEPSYCH_CRISIS_ESCALATE_AFTER_SECONDS", 300)
TELEPSYCH_CRISIS_ESCALATE_REPEAT_SECONDS = env_int("TELEPSYCH_CRISIS_ESCALATE_REPEAT_SECONDS", 300)
# Beat runs the outbox drain (and the escalation check) this often, catching anything a lost
# task message missed; failed deliveries back off exponentially up to the attempt limit.
TELEPSYCH_CRISIS_BEAT_SECONDS = env_int("TELEPSYCH_CRISIS_BEAT_SECONDS", 30)
TELEPSYCH_OUTBOX_MAX_ATTEMPTS = env_int("TELEPSYCH_OUTBOX_MAX_ATTEMPTS", 12)
TELEPSYCH_OUTBOX_BACKOFF_SECONDS = env_int("TELEPSYCH_OUTBOX_BACKOFF_SECONDS", 10)
# Absolute links in emails ("a patient needs attention: <link>").
TELEPSYCH_SITE_URL = env_str("TELEPSYCH_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Logging: never log PHI; requests are logged by path only --------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "daphne": {"level": "WARNING"},
    },
}

SITE_NAME = "telepsych"
