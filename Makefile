# Two entry points for a fresh machine (see README.md):
#   make demo   -> create .venv, install the kit, run the main job
#   make test   -> create .venv, install the kit with dev extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
# The torch pair tested on the project's machines; override for another platform,
# e.g. `make test TORCH_SPEC="torch torchvision"`.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DEMO_ARGS ?= bench --model cdcgan --dataset pneumoniamnist --budget quick --out runs/demo

BIN := $(VENV)/bin
STAMP := $(VENV)/.medganbench-installed

.PHONY: demo test test-fast install lint clean test-colab test-python

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[lab,dicom,dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/medganbench $(DEMO_ARGS)

# Two pytest workers: most tests spend their time in single-threaded Python (imports, tracing, kernels),
# so two of them share 2 cores well. --dist loadfile keeps a test file on one worker, so the notebooks'
# session-cached smoke executions (tests/test_notebooks.py) run once. (--dist loadgroup would be finer, but
# its xdist_group marks have no effect with pytest 9.2: the worker can no longer rename a test's node id.)
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Unit tests on made-up data and phantoms: a small fraction of the full suite's time (no real data,
# no notebooks, no CLI subprocesses). CI runs `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not notebook"

lint: $(STAMP)
	$(BIN)/ruff check medganbench tests benchmarks

clean:
	rm -rf $(VENV) .venv-colab .venv-py3.* runs .pytest_cache

# Colab's default runtime (Python 3.13 with Colab's preinstalled versions, .ci/colab_runtime.txt), simulated: the
# notebooks' install line must move none of Colab's packages, then the fast tests and notebook 00 run in that venv.
# Not part of `make test`: the venv install alone takes about 5 min (docs/course.md, Colab).
# A pyenv shim named python3.13 may exist without working (pyenv's global version differs): try it, then
# pyenv's own 3.13 installs; PY313=/path/to/python3.13 overrides.
PY313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do $$p -c "" 2>/dev/null && { echo $$p; break; }; done)
test-colab:
	@test -n "$(PY313)" || { echo "test-colab: no working python3.13 found; install Python 3.13 or pass PY313=/path/to/python3.13"; exit 2; }
	bash .ci/colab-sim $(PY313)

# The fast tests on another supported Python, in a venv of its own: `make test-python PY=python3.10`.
test-python:
	@test -n "$(PY)" || { echo "test-python: pass PY=/path/to/python3.X (3.10-3.13)"; exit 2; }
	bash .ci/python-check $(PY)
