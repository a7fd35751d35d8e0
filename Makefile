# The two commands: `make run` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
# Rasa 3.6 needs Python 3.8-3.10: pyenv's 3.10 (see .python-version), else python3.10.
PYTHON310 ?= $(shell PYENV_VERSION=3.10.13 pyenv which python 2>/dev/null || command -v python3.10)
MODEL := models/assistant.tar.gz
TRAINING_INPUTS := config.yml domain.yml knowledge/clinic_config.yml $(shell find data -name '*.yml') $(wildcard knowledge/out_of_domain/*.txt) \
	$(wildcard nlu_components/*.py policies/*.py)

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONWARNINGS := ignore
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help install run shell test train validate eval-nlu eval-ood lock clean prune-conversations delete-conversation report web browser \
	cluster cluster-stop cluster-packages bench

help:
	@echo "make run    install, train if the data changed, start the assistant and the clinic page"
	@echo "make test   install and run every test"
	@echo "make shell  chat with the running assistant in this terminal"
	@echo "make eval-nlu  today's pipeline and the sentence-encoder candidate as served, seeds 1,2,3"
	@echo "               (docs/nlu_evaluation.md; SEEDS=1,2 CANDIDATES=a,b to change)"
	@echo "make eval-ood  everyday requests unrelated to the clinic (Banking77): how many get microneedling"
	@echo "make report    the clinic's report from the stored conversations (var/reports/report.html)"
	@echo "make cluster   PostgreSQL, Redis, REPLICAS Rasa servers (default 2) and nginx on loopback"
	@echo "make cluster-stop  stop a cluster started in another terminal"
	@echo "make bench  measure ours against Rasa's starter bot (docs/benchmark.md); BENCH_QUICK=1 for a short run,"
	@echo "            BENCH_TARGET=<REST webhook URL> to measure a running deployment"

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (pyenv install 3.10.13)"; exit 1; }
	@echo "Installing Python dependencies into $(VENV) ..."
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
		-r requirements.lock 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

build/domain: domain.yml knowledge/clinic_config.yml knowledge/contraindications.yml knowledge/answerability.yml actions/answerability.py scripts/build_domain.py $(VENV)/.installed
	@$(PY) -m scripts.build_domain
	@touch $@

# Rasa's own fingerprint skips unchanged parts; make skips the call when no input changed.
$(MODEL): $(TRAINING_INPUTS) build/domain $(VENV)/.installed
	@mkdir -p var/logs
	@echo "Training the model (log: var/logs/train.log) ..."
	@start=$$(date +%s); \
	$(RASA) train --domain build/domain --data data --config config.yml \
		--out models --fixed-model-name assistant > var/logs/train.log 2>&1 \
		|| { tr '\r' '\n' < var/logs/train.log | grep -v -E "it/s|Epochs" | tail -n 30; exit 1; }; \
	echo "Model ready in $$(( $$(date +%s) - start ))s: $(MODEL)"
	@touch $@

train: $(MODEL)

# The website widget: rasa-webchat pinned in web/package-lock.json, served from
# web/node_modules by scripts/web_page.py (never from a CDN). Node and npm come from
# Debian when the machine has none.
WEBCHAT := web/node_modules/rasa-webchat/lib/index.js
web: $(WEBCHAT)

$(WEBCHAT): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "Installing nodejs and npm from Debian ..."; \
		apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	@echo "Installing the chat widget (npm ci in web/) ..."
	@npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $@

# The browser test drives Debian's headless Chromium; test tools never download browsers.
browser: /usr/bin/chromium /usr/bin/chromedriver

/usr/bin/chromium /usr/bin/chromedriver:
	@echo "Installing chromium and chromium-driver from Debian ..."
	@apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null

# The cluster (scripts/cluster.py) runs Debian's PostgreSQL, Redis and nginx from
# project-local configs on loopback, never the system services.
cluster-packages:
	@test -x /usr/sbin/nginx && test -x /usr/bin/redis-server && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| { echo "Installing postgresql, redis-server and nginx from Debian ..."; \
		     apt-get update -qq && apt-get install -y -qq postgresql redis-server nginx >/dev/null; }

REPLICAS ?= 2
ACTION_SERVERS ?= 1
CLUSTER_PORT ?= 8000
cluster: $(MODEL) web cluster-packages
	@$(PY) -m scripts.cluster start --replicas $(REPLICAS) --action-servers $(ACTION_SERVERS) --port $(CLUSTER_PORT)

cluster-stop: install
	@$(PY) -m scripts.cluster stop

run: $(MODEL) web
	@$(PY) -m scripts.serve

shell: install
	@$(PY) -m scripts.chat --url http://localhost:$${RASA_PORT:-5005}/webhooks/rest/webhook

validate: build/domain
	@mkdir -p var/logs
	@echo "rasa data validate, failing on any unexpected warning (log: var/logs/validate.log)"
	@$(RASA) data validate --domain build/domain --data data --config config.yml \
		> var/logs/validate.log 2>&1 || { grep -E "WARNING|ERROR|UserWarning|Error" var/logs/validate.log; exit 1; }
	@$(PY) -m scripts.check_validation var/logs/validate.log
	@echo "Domain, data and config are valid."

test: $(MODEL) web browser cluster-packages
	@$(MAKE) --no-print-directory validate
	$(PY) -m pytest tests -q
	@mkdir -p var/logs
	@echo "rasa test core --fail-on-prediction-errors on tests/test_stories.yml (log: var/logs/test-core.log)"
	@$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
		--fail-on-prediction-errors --out var/test-results/core > var/logs/test-core.log 2>&1 \
		|| { cat var/test-results/core/failed_test_stories.yml 2>/dev/null; \
		     tr '\r' '\n' < var/logs/test-core.log | grep -A 20 WrongPrediction; exit 1; }
	@grep -m 1 "Correct:" var/logs/test-core.log | sed 's/.*Correct:/Test stories correct:/'

# Privacy: delete conversations older than DAYS (default 30), or one on a patient's request.
DAYS ?= 30
prune-conversations: install
	@$(PY) -m scripts.conversations prune --days $(DAYS)

delete-conversation: install
	@test -n "$(SENDER)" || { echo "usage: make delete-conversation SENDER=<sender id>"; exit 2; }
	@$(PY) -m scripts.conversations delete "$(SENDER)"

# The clinic's report: aggregates of the tracker store at TRACKER_STORE_URL, no patient data.
OUT ?= var/reports/report.html
report: install
	@$(PY) -m scripts.report --out "$(OUT)"

# Today's pipeline against the sentence-encoder candidate, each in config.yml's frame and
# trained from scratch with DIET seeds 1, 2, 3 (six trainings of about 4 minutes each).
eval-nlu: $(VENV)/.installed
	$(PY) -m scripts.seed_study $(if $(SEEDS),--seeds $(SEEDS)) $(if $(CANDIDATES),--candidates $(CANDIDATES))

# The trained model on everyday requests that have nothing to do with the clinic
# (tests/corpora/), against fresh servers; LIMIT=300 for a quick look.
eval-ood: $(MODEL) web
	$(PY) -m scripts.eval_out_of_domain $(if $(LIMIT),--limit $(LIMIT))

# Our assistant against Rasa's starter bot on this machine (docs/benchmark.md). A quiet
# machine gives figures worth committing; BENCH_QUICK=1 only checks the tool works.
BENCH_FLAGS := $(if $(BENCH_QUICK),--quick) $(if $(BENCH_TARGET),--target $(BENCH_TARGET))
bench: $(MODEL)
	@$(PY) -m scripts.bench $(BENCH_FLAGS)

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v "^pkg_resources" > requirements.lock

clean:
	rm -rf build models var/test-results .rasa web/node_modules
