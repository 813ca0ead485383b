# Monitoring without Docker (docs/MONITORING.md): `make monitor` starts
# Debian's Prometheus with deploy/prometheus.yml, its data and log under
# $(BUILD)/monitor/ and its pid in $(BUILD)/monitor/prometheus.pid;
# `make stop` (through monitor-stop) stops that process, by pid, and only if
# the pid still belongs to the Prometheus started here.
#
#   make monitor [PROM_LISTEN=127.0.0.1:9099]
#
# Prometheus listens on 127.0.0.1:9099 by default, because the lab's
# worker-bad serves its metrics on :9090, Prometheus's usual port.

MONITOR_DIR := $(BUILD)/monitor
PROM_LISTEN ?= 127.0.0.1:9099
PROM_CONFIG ?= deploy/prometheus.yml

# True when the pid file names a live Prometheus using our data dir.
monitor_running = pid=$$(cat $(MONITOR_DIR)/prometheus.pid 2>/dev/null) && [ -n "$$pid" ] && \
    tr '\0' ' ' </proc/$$pid/cmdline 2>/dev/null | grep -q -- '--storage.tsdb.path=$(MONITOR_DIR)/data'

.PHONY: monitor monitor-stop stop
monitor: $(DEPS_STAMP)
	@mkdir -p $(MONITOR_DIR)/data
	@if $(monitor_running); then \
	    echo "Prometheus already runs (pid $$pid): http://$(PROM_LISTEN)"; exit 0; fi; \
	promtool check config $(PROM_CONFIG) >/dev/null || exit 1; \
	nohup prometheus --config.file=$(PROM_CONFIG) --storage.tsdb.path=$(MONITOR_DIR)/data \
	    --storage.tsdb.retention.time=2d --web.listen-address=$(PROM_LISTEN) \
	    >$(MONITOR_DIR)/prometheus.log 2>&1 </dev/null & \
	echo $$! >$(MONITOR_DIR)/prometheus.pid; \
	for i in $$(seq 1 150); do \
	    if curl -fsS http://$(PROM_LISTEN)/-/ready >/dev/null 2>&1; then break; fi; \
	    if ! kill -0 $$(cat $(MONITOR_DIR)/prometheus.pid) 2>/dev/null; then \
	        echo "Prometheus exited; see $(MONITOR_DIR)/prometheus.log:"; \
	        tail -n 5 $(MONITOR_DIR)/prometheus.log; rm -f $(MONITOR_DIR)/prometheus.pid; exit 1; fi; \
	    sleep 0.2; \
	done; \
	echo "Prometheus: http://$(PROM_LISTEN)  (targets: http://$(PROM_LISTEN)/targets)"; \
	echo "  config $(PROM_CONFIG), data and log in $(MONITOR_DIR)/, pid $$(cat $(MONITOR_DIR)/prometheus.pid)"; \
	echo "  scrapes orderd on 127.0.0.1:8080 (make run) and the lab workers on :9090/:9091"; \
	echo "  stop it with: make stop"

monitor-stop:
	@if $(monitor_running); then \
	    kill $$pid; \
	    for i in $$(seq 1 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	    if kill -0 $$pid 2>/dev/null; then echo "Prometheus (pid $$pid) did not stop in 10 s"; exit 1; fi; \
	    echo "Prometheus (pid $$pid) stopped"; \
	fi; \
	rm -f $(MONITOR_DIR)/prometheus.pid

# `make stop` also stops what `make monitor` started (other components may
# add their own stop recipes: this line only adds a prerequisite).
stop: monitor-stop
