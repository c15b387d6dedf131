import pytest


@pytest.mark.django_db
def test_home_renders_for_anonymous_visitor(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Get help now" in response.content
