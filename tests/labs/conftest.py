"""Every test here is a lab's own (its checker's logic, its `labs check`): marked `labs`,
so that they can run alone (`-m labs`) and CI's second pass, on PostgreSQL, leaves them
out: none of them touches a database."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.labs)
