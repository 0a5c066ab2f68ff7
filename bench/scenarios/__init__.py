"""The five benchmark scenarios, in the order `python -m bench` runs them."""

from __future__ import annotations

from bench.scenarios import capacity, fanout, memory, parsing, rest
from bench.scenarios.base import Scenario

SCENARIOS: dict[str, Scenario] = {
    module.SCENARIO.name: module.SCENARIO for module in (fanout, capacity, rest, memory, parsing)
}
