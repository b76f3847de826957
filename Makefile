# Two commands that work from a clean clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check clean system-deps typecheck-tree tools/azurite

# Azurite (the Azure Storage emulator, npm) for the Azure Blob export tests; pinned by
# tools/package-lock.json and installed once (npm ci), offline-safe afterwards.
AZURITE := tools/node_modules/.bin/azurite-blob

# PDF rendering (WeasyPrint) needs Pango and HarfBuzz; Chinese customer names need a CJK font.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk

system-deps:
	@missing=$$(for p in $(PDF_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages (install as root): $$missing" >&2; exit 1; fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[demo,test]'
	touch $(STAMP)

demo: system-deps $(STAMP)
	$(BIN)/computewatch demo --out demo-output

$(AZURITE): tools/package.json tools/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm is missing (install Node.js and npm)" >&2; exit 1; fi; }
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	touch $(AZURITE)

tools/azurite: $(AZURITE)

test: system-deps $(STAMP) typecheck-tree $(AZURITE)
	$(BIN)/ruff check agent collectors reports tests $(wildcard bench)
	$(BIN)/ruff format --check agent collectors reports tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check agent collectors reports tests $(wildcard bench)
	$(BIN)/ruff format --check agent collectors reports tests $(wildcard bench)

# mypy cannot follow setuptools' editable finder, so it reads the installed layout from links:
# build/typecheck/computewatch/* -> agent/*, plus collectors/ and reports/ inside it.
typecheck-tree:
	@rm -rf build/typecheck && mkdir -p build/typecheck/computewatch
	@for f in agent/*; do ln -s ../../../$$f build/typecheck/computewatch/; done
	@ln -s ../../../collectors build/typecheck/computewatch/collectors
	@ln -s ../../../reports build/typecheck/computewatch/reports

typecheck: $(STAMP) typecheck-tree
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build demo-output .pytest_cache .mypy_cache .ruff_cache tools/node_modules
