"""The runner's plan: which checks run concurrently on the pool, whatever else is installed.

A run is latency-tolerant only if its independent checks really start together. pytest-base-url
(installed beside the toolkit by `make test`, as pytest-playwright installs it for users) adds an
autouse fixture to every test; the plan must look at what a check asks for, not at what other
plugins wrap around it, or every check silently falls back to running one after another.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import contract_tests

PACKAGE_DIR = Path(contract_tests.__file__).parent

COLLECT = """
import json, sys
import pytest
from contract_tests.plugin import property_of
from contract_tests.runner import independent

class Plan:
    def __init__(self):
        self.found = {}
        self.plugins = []
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        self.plugins = sorted(name for name, _ in config.pluginmanager.list_name_plugin() if name)
        for item in items:
            pid = property_of(item)
            if pid:
                self.found[pid] = self.found.get(pid, False) or independent(item, pid)

plan = Plan()
pytest.main([sys.argv[1], "--collect-only", "-q", "-p", "contract_tests.plugin", "--rootdir", sys.argv[1], "-c", "/dev/null",
             "-o", "python_files=test_*.py", "-p", "no:cacheprovider"], plugins=[plan])
print(json.dumps({"plan": plan.found, "plugins": plan.plugins}))
"""


def test_independent_checks_are_planned_for_the_pool_beside_pytest_base_url() -> None:
    done = subprocess.run([sys.executable, "-c", COLLECT, str(PACKAGE_DIR)], capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "base_url" in result["plugins"]  # the neighbour whose autouse fixture wraps every test
    plan = result["plan"]
    for pid in ("health.ok", "create.fresh-id", "persistence.under-volume", "model.state-machine", "linearizability.concurrent-history"):
        assert plan[pid] is True, f"{pid} would not run on the pool"
    assert plan["consistency.read-your-writes.create"] is False  # reads the run's totals: last, in pytest's thread
    assert plan["schema.stateless"] is False  # Schemathesis' parametrised items run their own way
