# Two commands do everything on a fresh machine (each sets itself up):
#   make demo   run the whole chain on the built-in sample project
#   make test   run the test suite (starts its own PostgreSQL; Chromium tests need `make system-deps`)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test install system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m reddplus.warmup
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reddplus demo --out reddplus-demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian packages for the browser test and report rendering (root; CI runs this)
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) reddplus-demo .pytest_cache
