# `make run` and `make test` bootstrap their own virtualenvs; nothing else to install.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && python3.11 -c '' 2>/dev/null && echo python3.11 || echo python3)
# Python 3.12+ for the Django 6.x pass, when this machine has one (pyenv shims included).
PYTHON312 ?= $(shell for p in python3.13 python3.12 $$(ls -d $$HOME/.pyenv/versions/3.1[23]*/bin/python3 2>/dev/null); do "$$p" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
VENV6 := .venv-django6
PORT ?= 8000
PYTEST_ARGS ?=
# pytest keeps the test modules it rewrites (for its assert messages) as bytecode beside
# them; with PYTHONDONTWRITEBYTECODE set (some images set it) every pytest process would
# rewrite ~340 modules again, about 4 s each time.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run dev test test-fast test-main static-checks test-custom-user test-django6 package bench loadtest lint docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

$(VENV6)/.installed: pyproject.toml
	$(PYTHON312) -m venv $(VENV6)
	$(VENV6)/bin/pip install -q -e '.[dev]' 'django>=6.0,<7'
	touch $@

# The example project behind gunicorn (example_project/gunicorn.conf.py), static files by
# WhiteNoise: what a deployment runs, on SQLite with nothing to set up. One process of 8
# threads, as the in-process cache needs (2 processes once REDIS_URL is set).
run: $(VENV)/.installed
	$(VENV)/bin/python manage.py migrate --noinput
	$(VENV)/bin/python manage.py collectstatic --noinput --verbosity 0
	PORT=$(PORT) $(VENV)/bin/gunicorn -c example_project/gunicorn.conf.py example_project.wsgi:application

# Django's development server with autoreload (DEBUG on), for working on the code.
dev: $(VENV)/.installed
	$(VENV)/bin/python manage.py migrate --noinput
	DEBUG=1 $(VENV)/bin/python manage.py runserver 127.0.0.1:$(PORT)

test: test-main test-custom-user
	@if [ -n "$(PYTHON312)" ]; then $(MAKE) --no-print-directory test-django6; \
	else echo "No Python >= 3.12 here: skipping the Django 6.x pass."; fi

# Browser tests (tests/web, marked `browser`) need Debian's Chromium; .ci/run installs it.
CHROMIUM ?= /usr/bin/chromium

# The install tests (marker `install`: the wheel installed into fresh virtualenvs, a new
# project set up from the README's Quickstart, on Django 5.2 and 6.x) are slow, so they run
# once per `make test`, here; INSTALL_TESTS=0 leaves them out (.ci/run's second pass).
INSTALL_TESTS ?= 1
# The tests marked `standalone` do not depend on the run's database or cache (their servers
# get a SQLite of their own and no Redis); STANDALONE_TESTS=0 leaves them out (.ci/run's
# second pass, where they would repeat the first pass's run).
STANDALONE_TESTS ?= 1
# The suite in two runs: what runs in the test process (and the pages in Chromium) on every
# CPU with pytest-xdist, each worker with its own database and Redis database
# (tests/settings.py); then the system tests, which start servers, time races on
# PostgreSQL and install packages, a whole file per worker (`--dist loadfile`: a file's
# servers start once, and its races never share a worker).
IN_PROCESS := tests/unit tests/flows tests/api tests/web
SERVED := -n auto --dist loadfile tests/system
# `-m "not a and not b"` for the markers in $(1), nothing when $(1) is empty.
empty :=
space := $(empty) $(empty)
leave_out = $(if $(strip $(1)),-m "not $(subst $(space), and not ,$(strip $(1)))",)
LEFT_OUT := $(if $(filter 0,$(STANDALONE_TESTS)),standalone,)
MAIN_MARKERS := $(call leave_out,$(if $(filter 0,$(INSTALL_TESTS)),install,) $(LEFT_OUT))
DJANGO6_MARKERS := $(call leave_out,install $(LEFT_OUT))

# Lint, the package, the docs build and the migrations check: what does not depend on the
# database or the cache. STATIC_CHECKS=0 leaves them out (.ci/run's second pass, the same
# code on PostgreSQL and Redis).
STATIC_CHECKS ?= 1
static-checks: lint package
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site
	$(VENV)/bin/python manage.py makemigrations --check --dry-run

test-main: $(VENV)/.installed $(if $(filter 0,$(STATIC_CHECKS)),,static-checks)
	@test -x $(CHROMIUM) || echo "No $(CHROMIUM): the browser tests of the pages are skipped (apt-get install chromium to run them)."
	$(VENV)/bin/python -m pytest -n auto $(MAIN_MARKERS) $(IN_PROCESS) $(PYTEST_ARGS)
	$(VENV)/bin/python -m pytest $(MAIN_MARKERS) $(SERVED) $(PYTEST_ARGS)

# The sdist and the wheel into dist/ (git-ignored), checked as a package index checks them.
# `pip install dist/django_ainative_auth-*.whl` installs the app elsewhere.
package: $(VENV)/.installed
	rm -rf dist
	$(VENV)/bin/python -m build --no-isolation --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

# The fast lane: unit tests and flows (no servers, browsers, fuzzing or PostgreSQL), for
# every edit, on every CPU (pytest-xdist); `make test` runs everything. It leaves out the
# pytest plugins only the other suites use (schemathesis alone imports hypothesis and
# ~300 modules into every worker).
FAST_LANE_PLUGINS_OFF := -p no:schemathesis -p no:hypothesispytest -p no:anyio -p no:pytest_cov
test-fast: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(FAST_LANE_PLUGINS_OFF) --no-migrations -n auto tests/unit tests/flows $(PYTEST_ARGS)

# The same flows against a custom user model whose USERNAME_FIELD is the email.
test-custom-user: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -p no:cacheprovider --ds=tests.settings_custom_user \
	    -m "not postgres and not install" tests/flows/test_register.py tests/flows/test_login.py tests/flows/test_sessions.py \
	    tests/flows/test_account_state.py tests/flows/test_api_keys.py tests/flows/test_verify_email.py \
	    tests/flows/test_password_reset.py tests/flows/test_change_password.py \
	    tests/flows/test_social_login.py tests/flows/test_social_accounts.py $(PYTEST_ARGS)

# The races of test_concurrency_postgres.py are the database's, not Django's: 5 trials
# here (50 in test-main) keep the CI bounded.
test-django6: $(VENV6)/.installed
	$(VENV6)/bin/python -c 'import django; print("Django", django.get_version())'
	$(VENV6)/bin/python -m pytest -n auto $(DJANGO6_MARKERS) $(IN_PROCESS) $(PYTEST_ARGS)
	CONCURRENCY_TRIALS=$${CONCURRENCY_TRIALS:-5} $(VENV6)/bin/python -m pytest $(DJANGO6_MARKERS) $(SERVED) $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py
	$(VENV)/bin/python benchmarks/parity.py --mail

# A bounded load run (60 s) on PostgreSQL + Redis against gunicorn; not part of make test.
loadtest: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/loadtest.py $(LOADTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check ainative_auth example_project tests benchmarks
	$(VENV)/bin/mypy ainative_auth

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link or anchor,
# or a page missing from the nav, fails the build.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(VENV6) build dist *.egg-info site
