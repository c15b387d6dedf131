# The two commands the README gives: `make run` and `make test`. Python 3.11 alone is needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-unit test-e2e lint bench venv messages clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# Embedded defaults: SQLite in var/, in-memory channel layer, Celery tasks inline, console email.
run: venv
	DJANGO_DEBUG=true $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=true $(PY) manage.py seed_demo
	DJANGO_DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

# Browser tests run in their own pytest process (Playwright's event loop and pytest-asyncio
# do not share one process well; see ../shared/TESTING.md).
test: venv
	$(PY) -m pytest -rs -q --durations=12 tests --ignore=tests/e2e
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -rs -q --durations=12 tests/e2e

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

messages: venv
	DJANGO_DEBUG=true $(PY) manage.py makemessages -l vi --ignore=.venv --ignore=var --ignore=tests
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/*.sqlite3
