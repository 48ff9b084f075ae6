# msgload: the commands a person types. `make run` and `make test` do all set-up.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# make run: the scenario, its load and the local brokers' ports
SCENARIO ?= compare
USERS ?=
DURATION ?= 60
DRAIN ?= 15
RATE ?= 50
MESSAGE_SIZE ?= 100
BATCH ?= 10
RESULTS ?= results
SERVICES ?= moto,kafka,rabbitmq,activemq
MOTO_PORT ?= 5000
KAFKA_PORT ?= 9092
RABBITMQ_PORT ?= 5672
ACTIVEMQ_PORT ?= 61613
ARGS ?=
# These scenarios' load shapes end the run themselves.
SHAPE_SCENARIOS := step spike ramp autoscaling

PORTS := --moto-port $(MOTO_PORT) --kafka-port $(KAFKA_PORT) \
	--rabbitmq-port $(RABBITMQ_PORT) --activemq-port $(ACTIVEMQ_PORT)
LOCAL_ENDPOINTS := --endpoint-url http://127.0.0.1:$(MOTO_PORT) \
	--bootstrap-servers 127.0.0.1:$(KAFKA_PORT) \
	--amqp-url amqp://guest:guest@127.0.0.1:$(RABBITMQ_PORT)/ \
	--stomp-port $(ACTIVEMQ_PORT)

.PHONY: help run test lint brokers-start brokers-stop brokers-status report bench \
	install-brokers clean

help:
	@echo "make run     load-test the local brokers; results in $(RESULTS)/"
	@echo "make test    lint and run the tests"
	@echo "make report RUN=results/<run>   rewrite a run's report"
	@echo "make bench   the suite against raw clients; writes bench/RESULTS.md"
	@echo "Variables: SCENARIO USERS DURATION DRAIN RATE MESSAGE_SIZE BATCH SERVICES ARGS"

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Without root or apt-get the script says why; RabbitMQ and ActiveMQ are then
# left out of runs and their tests are skipped.
install-brokers:
	@bash stack/install_debian_brokers.sh || echo "RabbitMQ and ActiveMQ are skipped (see above)"

run: $(BIN)/.installed install-brokers
	@test -f locustfiles/$(SCENARIO).py || { echo "No scenario $(SCENARIO); choose one of: \
	$$(ls locustfiles | sed -n 's/\.py$$//p' | grep -v -e '^__init__$$' -e '^shapes$$' | tr '\n' ' ')"; exit 2; }
	$(BIN)/python -m stack run --services $(SERVICES) $(PORTS) -- \
	$(BIN)/locust -f locustfiles/$(SCENARIO).py --headless \
		$(if $(USERS),--users $(USERS) --spawn-rate $(USERS)) \
		$(if $(filter $(SCENARIO),$(SHAPE_SCENARIOS)),,--run-time $$(( $(DURATION) + $(DRAIN) ))s) \
		--drain-s $(DRAIN) --publish-rate $(RATE) \
		--message-size-bytes $(MESSAGE_SIZE) --batch-size $(BATCH) \
		--results-dir $(RESULTS) $(LOCAL_ENDPOINTS) $(ARGS)

test: $(BIN)/.installed install-brokers lint
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

brokers-start: $(BIN)/.installed
	$(BIN)/python -m stack start --services $(SERVICES) $(PORTS)

brokers-stop: $(BIN)/.installed
	$(BIN)/python -m stack stop --services $(SERVICES)

brokers-status: $(BIN)/.installed
	$(BIN)/python -m stack status --services $(SERVICES) $(PORTS)

report: $(BIN)/.installed
	@test -n "$(RUN)" || { echo "Give the run folder: make report RUN=results/<run>"; exit 2; }
	$(BIN)/python -m analysis report $(RUN) $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .stack .pytest_cache .ruff_cache
