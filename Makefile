# Two commands a new user needs: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PYTHONUNBUFFERED := 1

.PHONY: install demo test lint bench clean reproduce-dekag

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default (offline, CPU): the task-oriented system, then DeKA-g end
# to end (MAKD-aligned edge -> CALA codec over fading -> user). Each prints its report.md path.
# To stay within 15 minutes the LTSC demo leaves out the fraction students, the DeKA-g demo the
# matched-channel baseline and the digital baseline; their figures are in the shipped references
# (results/reference/ltsc, results/reference/dekag/cala; docs/ltsc.md, docs/dekag-cala.md), and
# each demo report is placed against its reference.
demo: $(STAMP)
	$(BIN)/semdistill run configs/ltsc/shapes.yaml --name demo-ltsc --set "runs.fractions=[]"
	$(BIN)/semdistill run configs/dekag/shapes.yaml --name demo-dekag \
	  --set "baselines.matched=null" --set "eval.digital.enabled=false"

# DeKA-g's reference results (docs/dekag-makd.md, docs/dekag-cala.md, "Claims and seeds"): MAKD
# and the codec grid, seeds $(DEKAG_SEEDS), two runs at a time on one thread each (a killed run
# resumes where it stopped when the target is run again; a finished one is kept), then the two
# reference folders.
DEKAG_SEEDS ?= 0 1 2
DEKAG_RUNS  := $(foreach s,$(DEKAG_SEEDS),makd-shapes:makd-ref-s$(s):$(s) shapes:dekag-ref-s$(s):$(s))
reproduce-dekag: $(STAMP)
	@printf '%s\n' $(DEKAG_RUNS) | tr ':' ' ' | xargs -P 2 -L 1 sh -c \
	  'if [ -f runs/$$1/report.md ]; then exit 0; fi; \
	   if [ -f runs/$$1/config.yaml ]; then set -- --resume runs/$$1; \
	   else set -- configs/dekag/$$0.yaml --name $$1 --set seed=$$2; fi; \
	   OMP_NUM_THREADS=1 $(BIN)/semdistill run -q "$$@"'
	$(BIN)/semdistill reference $(foreach s,$(DEKAG_SEEDS),runs/makd-ref-s$(s)) \
	  --out results/reference/dekag/makd
	$(BIN)/semdistill reference $(foreach s,$(DEKAG_SEEDS),runs/dekag-ref-s$(s)) \
	  --out results/reference/dekag/cala

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf runs .pytest_cache .hypothesis
