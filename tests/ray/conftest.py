"""Each module's actors are killed when it ends (``tests.conftest.sweep_module_actors``)."""

from __future__ import annotations

import pytest

from tests.conftest import sweep_module_actors

_sweep = pytest.fixture(scope="module", autouse=True)(sweep_module_actors)
