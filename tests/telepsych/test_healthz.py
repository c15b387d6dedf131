import pytest
from channels.layers import channel_layers
from django.test import override_settings

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def fresh_channel_layers():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_healthz_reports_every_part_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"}}


@pytest.mark.redis
def test_healthz_up_on_redis(client, settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    assert client.get("/healthz").json()["checks"] == {
        "database": "ok", "cache": "ok", "channel_layer": "ok"}


def test_healthz_503_when_the_cache_is_down(client):
    with override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "down", "channel_layer": "ok"}


def test_healthz_503_when_the_channel_layer_is_down(client):
    with override_settings(CHANNEL_LAYERS={"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [DEAD_REDIS]}}}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "down", "checks": {"database": "ok", "cache": "ok", "channel_layer": "down"}}


def test_healthz_503_when_the_database_is_down(client, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("database unreachable")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"


def test_healthz_is_get_only(client):
    assert client.post("/healthz").status_code == 405
