"""Override the delegate this run acts as, from a conftest.py.

By default pytest-connectors learns which delegate it runs as from ``--delegate`` /
``--delegate-tags``, the ``pytestConnectors.delegates`` inventory, or the ``DELEGATE_NAME`` and
``DELEGATE_TAGS`` variables a Harness delegate has. A CI runner is not a delegate, though: this
fixture tells the checks which delegate the runner stands in for, so the ``delegate`` check can
say whether Harness would ever run each connector there.

Copy this file to the conftest.py of your rootdir (next to pytest.ini / pyproject.toml), or into
the folder you pass to ``--connectors``: a fixture is visible to the items at or below the
conftest.py that defines it.
"""

from __future__ import annotations

import os

import pytest

from pytest_connectors import DelegateContext

#: What each CI runner stands in for: runner name -> (delegate name, delegate tags).
RUNNERS = {
    "ci-eu-1": ("eu-dmz-delegate", ("dmz", "eu")),
    "ci-us-1": ("us-dmz-delegate", ("dmz", "us")),
}
DEFAULT = ("demo-delegate", ("demo", "dmz"))


@pytest.fixture(scope="session")
def connectors_delegate() -> DelegateContext:
    """The delegate identity (name and tags) the checks compare connector selectors with."""
    name, tags = RUNNERS.get(os.environ.get("RUNNER_NAME", ""), DEFAULT)
    return DelegateContext(name=name, tags=tags)
