# Two commands matter: `make demo` and `make test` (both work on a fresh machine).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests use: a real IMAP server, the tools that read .doc and .pdf, systemd-analyze,
# and headless LibreOffice with a CJK font to print the scorecard's .docx and .xlsx to PDF, and a
# PostgreSQL server (the tests run their own cluster: no system service is started).
TEST_DEBS := dovecot-imapd antiword poppler-utils systemd libreoffice-writer-nogui libreoffice-calc-nogui \
	fonts-wqy-microhei postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench install test-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mailbridge demo --dir mailbridge-demo

test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# Lint and types first (ruff and mypy read pyproject.toml): seconds, before minutes of tests. Then
# the whole suite on SQLite and, alongside it (each pass has its own servers, ports and folders;
# most of a pass's time is one process waiting on its subprocesses), the tests that touch the
# ledger again on PostgreSQL, whose output follows the SQLite pass's. Fails if either fails.
test: $(STAMP) test-deps
	$(BIN)/ruff check mailbridge tests bench mailkit
	$(BIN)/mypy
	@pg=""; log=$$(mktemp); \
	if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  $(BIN)/python -m pytest --db=postgresql >"$$log" 2>&1 & pg=$$!; \
	else echo "PostgreSQL server not installed: the ledger tests run on SQLite only"; fi; \
	$(BIN)/python -m pytest --cov=mailbridge --cov-report=term:skip-covered --durations=15; sqlite=$$?; pgrc=0; \
	if [ -n "$$pg" ]; then wait $$pg; pgrc=$$?; \
	  echo "--- the ledger tests again on PostgreSQL (run alongside) ---"; cat "$$log"; fi; \
	rm -f "$$log"; [ $$sqlite = 0 ] && [ $$pgrc = 0 ]

bench: $(STAMP) test-deps
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) mailbridge-demo build *.egg-info
