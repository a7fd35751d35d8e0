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

.PHONY: help install run shell test test-unit train validate lint types eval-nlu eval-ood eval-spanish lock clean prune-conversations delete-conversation report web browser staff-account staff-account-disable \
	cluster cluster-stop cluster-packages speech bench backup restore prune-backups ops-packages \
	install-service nginx-config deploy-configs images disk-space disk-space-images

help:
	@echo "make run    install, train if the data changed, start the assistant and the clinic page"
	@echo "make test   install and run every test (with make lint and make types)"
	@echo "make test-unit  the unit tier only (tests/tiers.py): no model, no servers, seconds"
	@echo "make lint   ruff on the whole tree; make types: mypy, strict on clinic/"
	@echo "make shell  chat with the running assistant in this terminal"
	@echo "make eval-nlu  today's pipeline and the sentence-encoder candidate as served, seeds 1,2,3"
	@echo "               (docs/nlu_evaluation.md; SEEDS=1,2 CANDIDATES=a,b to change)"
	@echo "make eval-ood  everyday requests unrelated to the clinic (Banking77): how many get microneedling"
	@echo "make eval-spanish  a blind set of Spanish messages, urgent and not: what each gets over REST"
	@echo "make staff-account USER=name  add a staff inbox account (asks for the password)"
	@echo "make backup    the conversations database and the secrets into var/backups/<UTC time>/ (BACKUP_DIR=...),"
	@echo "               then delete backups older than retention_days; make restore FROM=<folder> [FORCE=1]"
	@echo "make report    the clinic's report from the stored conversations (var/reports/report.html)"
	@echo "make cluster   PostgreSQL, Redis, REPLICAS Rasa servers (default 2) and nginx on loopback"
	@echo "make cluster-stop  stop a cluster started in another terminal"
	@echo "make install-service  as root: systemd services in INSTALL_DIR (default /opt/clinic-assistant),"
	@echo "               DESTDIR=<folder> to try it into a folder (docs/operations.md)"
	@echo "make images   the assistant's and the page's images with podman, from a Debian base made here"
	@echo "make nginx-config OUT=<file>  the host's HTTPS nginx config from the environment"
	@echo "make deploy-configs  rewrite deploy/'s generated nginx, Redis and chart settings after a change"
	@echo "               to scripts/ops/nginx_pieces.py or scripts/ops/cluster_configs.py"
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

# The article's answers are built from the article (clinic/answers.py): an edited article or
# knowledge/answers.yml rebuilds the domain and retrains, or stops naming the answer whose
# sentence is gone. (A prerequisite-only rule: make adds it to the one below.)
ARTICLE_ANSWERS := knowledge/microneedling_article.txt knowledge/answers.yml clinic/answers.py clinic/article.py
# The clinic's reviewed Spanish answers, when it has them (clinic/translations.py).
ARTICLE_ANSWERS += $(wildcard knowledge/answers_es.yml) clinic/translations.py
build/domain: $(ARTICLE_ANSWERS)
build/domain: domain.yml knowledge/clinic_config.yml knowledge/contraindications.yml knowledge/answerability.yml clinic/answerability.py scripts/buildtime/build_domain.py $(VENV)/.installed
	@$(PY) -m scripts.buildtime.build_domain
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
# web/node_modules by scripts/ops/web_page.py (never from a CDN). Node and npm come from
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

# The phone line's test renders every spoken reply with a real text-to-speech engine.
speech: /usr/bin/espeak-ng

/usr/bin/espeak-ng:
	@echo "Installing espeak-ng from Debian ..."
	@apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null

# The cluster (scripts/ops/cluster.py) runs Debian's PostgreSQL, Redis and nginx from
# project-local configs on loopback, never the system services.
cluster-packages:
	@test -x /usr/sbin/nginx && test -x /usr/bin/redis-server && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| { echo "Installing postgresql, redis-server and nginx from Debian ..."; \
		     apt-get update -qq && apt-get install -y -qq postgresql redis-server nginx >/dev/null; }

REPLICAS ?= 2
ACTION_SERVERS ?= 1
CLUSTER_PORT ?= 8000
cluster: $(MODEL) web cluster-packages
	@$(PY) -m scripts.ops.cluster start --replicas $(REPLICAS) --action-servers $(ACTION_SERVERS) --port $(CLUSTER_PORT)

cluster-stop: install
	@$(PY) -m scripts.ops.cluster stop

run: $(MODEL) web
	@$(PY) -m scripts.ops.serve

shell: install
	@$(PY) -m scripts.ops.chat --url http://localhost:$${RASA_PORT:-5005}/webhooks/rest/webhook

validate: build/domain
	@mkdir -p var/logs
	@echo "rasa data validate, failing on any unexpected warning (log: var/logs/validate.log)"
	@$(RASA) data validate --domain build/domain --data data --config config.yml \
		> var/logs/validate.log 2>&1 || { grep -E "WARNING|ERROR|UserWarning|Error" var/logs/validate.log; exit 1; }
	@$(PY) -m scripts.buildtime.check_validation var/logs/validate.log
	@echo "Domain, data and config are valid."

# disk-space first: it warns, before anything is written, when the disk is short of space.
test: disk-space $(MODEL) web browser speech cluster-packages ops-packages
	@$(MAKE) --no-print-directory validate lint types
	$(PY) -m pytest tests -q
	@mkdir -p var/logs
	@echo "rasa test core --fail-on-prediction-errors on tests/data/test_stories.yml (log: var/logs/test-core.log)"
	@$(RASA) test core --model $(MODEL) --stories tests/data/test_stories.yml \
		--fail-on-prediction-errors --out var/test-results/core > var/logs/test-core.log 2>&1 \
		|| { cat var/test-results/core/failed_test_stories.yml 2>/dev/null; \
		     tr '\r' '\n' < var/logs/test-core.log | grep -A 20 WrongPrediction; exit 1; }
	@grep -m 1 "Correct:" var/logs/test-core.log | sed 's/.*Correct:/Test stories correct:/'

# The machine's python3: this runs before the virtual environment exists (scripts/ops/disk_space.py).
disk-space:
	@python3 -m scripts.ops.disk_space test

disk-space-images:
	@python3 -m scripts.ops.disk_space images

# Privacy: delete conversations older than DAYS (default 30), or one on a patient's request.
DAYS ?= 30
prune-conversations: install
	@$(PY) -m scripts.ops.conversations prune --days $(DAYS)

delete-conversation: install
	@test -n "$(SENDER)" || { echo "usage: make delete-conversation SENDER=<sender id>"; exit 2; }
	@$(PY) -m scripts.ops.conversations delete "$(SENDER)"

# Staff inbox accounts, in the conversations database: `make staff-account USER=name` asks
# for the password twice (python -m staff.accounts create NAME --password-stdin for scripts).
# USER must be given on the command line: the environment's USER is the login name.
staff-account: install
	@test "$(origin USER)" = "command line" || { echo "usage: make staff-account USER=<name>"; exit 2; }
	@$(PY) -m staff.accounts create "$(USER)"

staff-account-disable: install
	@test "$(origin USER)" = "command line" || { echo "usage: make staff-account-disable USER=<name>"; exit 2; }
	@$(PY) -m staff.accounts disable "$(USER)"

# Backups (scripts/ops/backup.py): the database TRACKER_STORE_URL names (SQLite through its online
# backup API, PostgreSQL by pg_dump in POSTGRESQL_SCHEMA) and var/'s secrets, into an
# owner-only folder of BACKUP_DIR named for the UTC time. A backup still holds conversations
# deleted after it was made, so backups older than retention_days
# (knowledge/clinic_config.yml) are deleted after each new one, or by `make prune-backups`.
BACKUP_DIR ?= var/backups
backup: install
	@$(PY) -m scripts.ops.backup create --dir "$(BACKUP_DIR)"
	@$(PY) -m scripts.ops.backup prune --dir "$(BACKUP_DIR)"

prune-backups: install
	@$(PY) -m scripts.ops.backup prune --dir "$(BACKUP_DIR)"

# Stop the servers first. Refuses a backup whose files changed, and a database that holds
# rows (or var/ secrets that differ) unless FORCE=1.
restore: install
	@test -n "$(FROM)" || { echo "usage: make restore FROM=<backup folder> [FORCE=1]"; exit 2; }
	@$(PY) -m scripts.ops.backup restore "$(FROM)" $(if $(filter 1 yes true,$(FORCE)),--force)

# Log rotation on a host (deploy/logrotate/clinic-assistant): Debian's logrotate, which the
# test of that config runs.
# systemd-analyze verifies the units (tests/test_host_service.py); the package installs
# without becoming the init.
# podman, debootstrap and runc build and run the images (tests/test_container_images.py).
ops-packages:
	@test -x /usr/sbin/logrotate && test -x /usr/bin/systemd-analyze && test -x /usr/bin/podman \
		&& test -x /usr/sbin/debootstrap || { echo "Installing logrotate, systemd, podman and debootstrap from Debian ..."; \
		apt-get update -qq && apt-get install -y -qq logrotate systemd podman debootstrap runc >/dev/null; }

# The images of deploy/docker/ with podman, on a Debian 12 base made here (scripts/ops/images.py).
images: disk-space-images $(MODEL) web ops-packages
	@$(PY) -m scripts.ops.images build

# Production on one host (docs/operations.md, scripts/ops/install_service.py): the
# clinic-assistant user, the project copied into INSTALL_DIR, /etc/clinic-assistant/env,
# the systemd units of deploy/systemd/ and the log rotation. DESTDIR=<folder> writes
# everything under that folder and changes no user or service (it says what it would do).
INSTALL_DIR ?= /opt/clinic-assistant
install-service: $(MODEL) web
	@$(PY) -m scripts.ops.install_service --install-dir "$(INSTALL_DIR)" $(if $(DESTDIR),--root "$(DESTDIR)")

# The host's nginx config (scripts/ops/host_nginx.py) from SERVER_NAME / RASA_PUBLIC_URL, TLS_CERT,
# TLS_KEY, INBOX_SERVER_NAME, INBOX_ALLOW; printed unless OUT is given.
nginx-config: install
	@$(PY) -m scripts.ops.host_nginx $(if $(OUT),--out "$(OUT)")

# The files under deploy/ rendered from the cluster's settings (scripts/ops/deploy_configs.py);
# make test fails while one is stale.
deploy-configs: install
	@$(PY) -m scripts.ops.deploy_configs

# The clinic's report: aggregates of the tracker store at TRACKER_STORE_URL, no patient data.
report: OUT ?= var/reports/report.html
report: install
	@$(PY) -m scripts.ops.report --out "$(OUT)"

# Today's pipeline against the sentence-encoder candidate, each in config.yml's frame and
# trained from scratch with DIET seeds 1, 2, 3 (six trainings of about 4 minutes each).
eval-nlu: $(VENV)/.installed
	$(PY) -m scripts.evaluation.seed_study $(if $(SEEDS),--seeds $(SEEDS)) $(if $(CANDIDATES),--candidates $(CANDIDATES))

# The trained model on everyday requests that have nothing to do with the clinic
# (tests/data/corpora/), against fresh servers; LIMIT=300 for a quick look.
eval-ood: $(MODEL) web
	$(PY) -m scripts.evaluation.eval_out_of_domain $(if $(LIMIT),--limit $(LIMIT))

# Patients who write in Spanish (docs/safety.md): tests/data/spanish_heldout.yml over REST.
eval-spanish: $(MODEL) web
	$(PY) -m scripts.evaluation.eval_spanish

# Our assistant against Rasa's starter bot on this machine (docs/benchmark.md). A quiet
# machine gives figures worth committing; BENCH_QUICK=1 only checks the tool works.
BENCH_FLAGS := $(if $(BENCH_QUICK),--quick) $(if $(BENCH_TARGET),--target $(BENCH_TARGET))
bench: $(MODEL)
	@$(PY) -m scripts.bench.bench $(BENCH_FLAGS)

# The unit tier (tests/tiers.py): no model, no servers; `pytest -m adapters|integration|system`
# selects the others.
test-unit: $(VENV)/.installed
	$(PY) -m pytest tests -q -m unit

# Lint (ruff, pyproject.toml) and types (mypy, strict on clinic/); make test runs both.
lint: $(VENV)/.installed
	@$(PY) -m ruff check --quiet . && $(PY) -m ruff format --check --quiet . \
		&& echo "ruff: no lint problems, formatted"

types: $(VENV)/.installed
	@$(PY) -m mypy

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v "^pkg_resources" > requirements.lock

clean:
	rm -rf build models var/test-results .rasa web/node_modules
