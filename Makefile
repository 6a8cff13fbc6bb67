# The two commands of the README:
#   make run   set everything up on the embedded default (SQLite, tasks and periodic jobs
#              in-process, e-mail to var/mail/) and serve http://127.0.0.1:8000/
#   make test  install and run the test suite but its slow tests (needs PostgreSQL and Redis;
#              see README); make test-slow runs those: browsers, workers, subprocesses

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py
# The data package of the board's map (MapSVG's Japan, CC BY 4.0), pinned.
MAP_PACKAGE := @svg-maps/japan@2.0.0
MAP_SVG := $(VENV)/npm/node_modules/@svg-maps/japan/japan.svg

.PHONY: run setup install messages migrate data demo static browser test test-slow lint worker beat flower clean

# Links in e-mail point at the site as served here (unless SITE_URL is set).
export SITE_URL ?= http://127.0.0.1:$(PORT)

run: setup
	@echo "Furusato: http://127.0.0.1:$(PORT)/  (demo accounts in README.md; e-mail in $${FURUSATO_VAR_DIR:-var}/mail/)"
	$(MANAGE) run_periodic_jobs & jobs=$$!; trap 'kill $$jobs 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:$(PORT) --noreload

setup: install messages migrate data demo static

# The environment is rebuilt whenever pyproject.toml changes.
install: $(VENV)/.installed $(MAP_SVG)
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The outline map of Japan (places.maps): prefecture outlines from the npm registry.
$(MAP_SVG):
	npm install --prefix $(VENV)/npm --no-save --no-audit --no-fund --loglevel=error $(MAP_PACKAGE)
	test -s $@

messages: install
	$(MANAGE) compilemessages --ignore=$(VENV) --ignore=var -v0

migrate: install
	$(MANAGE) migrate --noinput -v0

data: migrate
	$(MANAGE) load_municipalities

# The statistics need a population: 5,000 generated people (e-mail @population.invalid, no
# password) registered across the country, then counted.
demo: data
	$(MANAGE) load_demo_accounts
	$(MANAGE) load_demo_registry
	$(MANAGE) load_demo_board
	$(MANAGE) generate_population --people 5000 --seed 1 --unless-present
	$(MANAGE) stats_rebuild

static: install
	$(MANAGE) collectstatic --noinput -v0

# The browser tests drive Debian's Chromium (with Japanese fonts, for legible screenshots).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install chromium fonts-noto-cjk"; exit 1; fi; }

# Runs on PostgreSQL and Redis (DATABASE_URL and REDIS_URL, defaulting to this machine's),
# two processes in parallel. `test` leaves out the tests marked slow (tests/conftest.py says
# which); `test-slow` runs only those: Chromium, real Celery workers, Django in processes of
# its own, the API contract. Screenshots of the browser tests go to test-artifacts/.
test: install messages browser
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow"

test-slow: install messages browser
	$(BIN)/pytest -n 2 --dist loadgroup -m slow

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=platform:. $(BIN)/lint-imports
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=10 \
	  --ignore=migrations --recursive=y registry matching platform

# Processes of the production topology, for a local run against Redis (REDIS_URL set).
CELERY := PYTHONPATH=platform:. $(BIN)/celery -A config

worker: install
	$(CELERY) worker --queues=default,matching,notifications,stats --loglevel=INFO

beat: install
	$(CELERY) beat --loglevel=INFO --schedule=var/celerybeat-schedule

# Flower shows every task's arguments: only on this machine, and only with a password
# (FLOWER_BASIC_AUTH=user:password, which Flower reads itself).
flower: install
	@test -n "$$FLOWER_BASIC_AUTH" || { echo "Set FLOWER_BASIC_AUTH=user:password first"; exit 1; }
	$(CELERY) flower --address=127.0.0.1 --port=5555

clean:
	rm -rf var $(VENV)
