# The README's whole quick start: `make demo` and `make test` on a fresh machine.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.genforge-installed

.PHONY: test demo lint bootstrap clean

bootstrap: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: plain `pip install torch` would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/genforge demo

lint: $(STAMP)
	$(VENV)/bin/ruff check genforge tests

clean:
	rm -rf $(VENV) work_dirs .pytest_cache
