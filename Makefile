# Two commands a new user needs: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PYTHONUNBUFFERED := 1

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default (offline, CPU): the task-oriented system, then DeKA-g end
# to end (MAKD-aligned edge -> CALA codec over fading -> user). Each prints its report.md path.
# The LTSC demo leaves out the fraction students to stay within 15 minutes (their figures are in
# the shipped reference, results/reference/ltsc; docs/ltsc.md).
demo: $(STAMP)
	$(BIN)/semdistill run configs/ltsc/shapes.yaml --name demo-ltsc --set "runs.fractions=[]"
	$(BIN)/semdistill run configs/dekag/shapes.yaml --name demo-dekag

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf runs .pytest_cache .hypothesis
