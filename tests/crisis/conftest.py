import pytest

from crisis import detection


@pytest.fixture(autouse=True)
def _fresh_rule_cache():
    """Each test reads the rules of its own database state."""
    detection._cache.clear()
    yield
    detection._cache.clear()
