# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_MONTHS ?= 36
DEMO_SEED ?= 7
DEMO_END ?= 2026-10
DEMO_SMTP_PORT ?= 8025
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
# The demo's partitions start at its first month, so the UI shows no months before its data.
DEMO_START := $(shell date -d "$(DEMO_END)-01 -$$(( $(DEMO_MONTHS) - 1 )) months" +%Y-%m)
demo ui: export BSC_PARTITIONS_START ?= $(DEMO_START)

.PHONY: install chromium demo demo-alerts screenshot test lint typecheck pytest ui worker bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml chromium  ## create .venv and install the package with its dev tools

# Debian's headless Chromium prints the briefing book to PDF and renders it in the tests.
chromium:  ## install Debian's chromium when it is missing (needs root, as in CI)
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) || \
		echo "warning: could not install chromium (not root?): PDF reports and the browser tests need it"

# The local Dagster instance (deploy/dagster.yaml): SQLite storage under DAGSTER_HOME, one
# publishing slot, no usage statistics sent. An existing dagster.yaml is left alone.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@

demo: install  ## generate demo extracts, run every demo month, show the scorecard
	$(BIN)/bsc demo-data --months $(DEMO_MONTHS) --seed $(DEMO_SEED) --end $(DEMO_END)
	$(BIN)/bsc backfill --all-landed
	$(BIN)/bsc show
	@book=$$($(BIN)/bsc report) && echo && echo "Briefing book: $$book (open it in a browser)"
	@echo
	@echo "Warehouse: $${BSC_WAREHOUSE_URL:-sqlite:///$(CURDIR)/warehouse/scorecard.db} (view v_scorecard_monthly)"
	@echo "Dagster UI: make ui, then open http://127.0.0.1:3000"

demo-alerts: install  ## deliver the demo's pending alerts to a local SMTP sink, saved in demo_mail/
	@$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(DEMO_SMTP_PORT) -c aiosmtpd.handlers.Mailbox \
		$(CURDIR)/demo_mail & pid=$$!; sleep 2; \
	BSC_SMTP_HOST=127.0.0.1 BSC_SMTP_PORT=$(DEMO_SMTP_PORT) $(BIN)/bsc alerts deliver; status=$$?; \
	kill $$pid; echo "Messages received: $$(ls demo_mail/new | wc -l) in demo_mail/new (one file each)"; \
	exit $$status

# The README's picture of the briefing book: the latest demo month, as Chromium draws it.
screenshot: install  ## regenerate docs/briefing-book.png from the demo warehouse (run make demo first)
	@book=$$($(BIN)/bsc report) && \
	profile=$$(mktemp -d) && \
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir=$$profile \
		--hide-scrollbars --window-size=1200,1900 --screenshot=$(CURDIR)/docs/briefing-book.png \
		file://$$book; status=$$?; rm -rf $$profile; exit $$status

test: install lint typecheck pytest  ## lint, type-check and run the whole suite

lint: install
	$(BIN)/ruff check bsc_pipeline tests benchmarks definitions.py
	$(BIN)/ruff format --check bsc_pipeline tests benchmarks definitions.py
	$(BIN)/dg check defs

typecheck: install
	$(BIN)/mypy bsc_pipeline

pytest: install
	$(BIN)/pytest -n 2 --dist loadfile -q

ui: install  ## open the Dagster UI on http://127.0.0.1:3000 (the same as `dg dev`)
	$(BIN)/dagster dev -f definitions.py -h 127.0.0.1 -p 3000

worker: install  ## start a Celery worker for BSC_EXECUTOR=celery runs (docs/operations.md)
	$(BIN)/bsc worker start

bench: install  ## benchmark the pipeline against the floor and DuckDB
	$(BIN)/python -m benchmarks

clean:  ## remove the venv, the lake, the demo landing zone and the SQLite warehouse
	rm -rf $(VENV) lake sources/landing warehouse/scorecard.db warehouse/scorecard.db-wal warehouse/scorecard.db-shm dagster_home demo_mail
