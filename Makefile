# The lab's commands, typed from the repository root. Meson is the build
# system; every target only delegates to scripts/ (read them for details).
#   make e2     SMTP scenario: capture → artifacts/pcap/traffic_e2.pcap, pytest -m e2, pcap rules
#   make e3     SMTP + POP3 scenario → artifacts/pcap/traffic_e3.pcap
#   make test   every test (unit, e2e, plain and sanitized builds)
#   make run    the appliance on 127.0.0.1:2525 / :2110
#   make container-test   the compose appliance built and run with podman
# e2/e3 need root (tcpdump) and ports 2525/2110 free; they install the lab's
# Debian packages when missing and build build/mailnest when it is missing.

.PHONY: all build e2 e3 test run container-test

all: build

build:
	scripts/install-deps
	scripts/build

e2:
	scripts/install-deps --lab
	scripts/e2

e3:
	scripts/install-deps --lab
	scripts/e3

test:
	scripts/test

run:
	scripts/run

container-test:
	scripts/container-test
