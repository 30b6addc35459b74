"""A Robot Framework pre-run modifier for the MQTT phase of scripts/conformance.

The suite's runner (run-etsi) always passes `--exclude sub-mqtt-notification`, since the suite
would start its broker with docker, and in Robot Framework an exclude wins over any include.
Pre-run modifiers act before tags select tests: this one moves the 12 MQTT notification tests
from that tag to `tsunagu-mqtt`, which `--include tsunagu-mqtt` then selects, with a Mosquitto
that scripts/conformance starts itself. The file is named after its class, as Robot requires of
a modifier given by path."""

from robot.api import SuiteVisitor


class IncludeMqtt(SuiteVisitor):
    def start_test(self, test):
        if "sub-mqtt-notification" in test.tags:
            test.tags.remove("sub-mqtt-notification")
            test.tags.add("tsunagu-mqtt")
