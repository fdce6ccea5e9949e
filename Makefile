# The README's commands. Each target says what it does; nothing clever.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_BROKER ?= redis://127.0.0.1:6379/15

.PHONY: demo test host venv lint bench check-labs

## demo: set up this machine and run the platform (web + worker) on its embedded defaults
demo: host venv
	scripts/demo.sh

## test: set up this machine and run the whole test suite (Docker, a real worker on Redis, a browser)
test: host venv
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER)} $(PY) -m pytest $(PYTEST_ARGS)

## host: install and start Docker (+ runsc, debootstrap, chromium) and build the grader image; needs root
host: venv
	PYTHON=$(PY) scripts/host-setup.sh

## venv: the project's virtual environment with its dependencies
venv: $(VENV)/.installed

# The .pth file makes the apps under platform/ import as top-level packages (`import
# grading`) in every tool of the environment, as manage.py and pytest arrange themselves.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'downstack-platform.pth').write_text(str(pathlib.Path('platform').resolve()) + '\n')"
	touch $@

## lint: ruff (lint and format check), the import contract of the layers, and mypy
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## check-labs: run every lab's reference, starter and variants through the real sandbox
check-labs: host venv
	$(PY) manage.py labs check

## bench: grading latency and throughput against a bare docker run
bench: host venv
	$(PY) bench/grading.py
