# The two commands of the README: `make run` and `make test`. Everything installs into .venv
# from the pinned lock file, so a fresh machine gets exactly the versions results were made with.
PY := $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/sanming.toml
# A small ensemble, so that the plots have bands and the summary has intervals.
REPLICATES ?= 10

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install browser bench lock clean

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/tuopin run $(SCENARIO) --replicates $(REPLICATES)

# Browser tests drive Debian's Chromium (headless, through Playwright); install it once.
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: install browser
	TUOPIN_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/tuopin bench

# Re-resolve the lock file from pyproject.toml (needs the package registry).
lock:
	rm -rf /tmp/tuopin-lock && $(PY) -m venv /tmp/tuopin-lock
	/tmp/tuopin-lock/bin/python -m pip install -q --upgrade pip
	/tmp/tuopin-lock/bin/python -m pip install -q -e '.[dev,notebooks]'
	/tmp/tuopin-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) results
