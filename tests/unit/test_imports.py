"""A plain install must load in any project: the plugin imports no optional SDK.

``requests`` (with hvac), ``kubernetes`` and ``urllib3`` come with extras only; a provider's
module, and the SDK it uses, is imported when a connector of its type is collected.
"""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("requests", "hvac", "kubernetes", "urllib3", "boto3", "google", "azure")


def test_loading_the_plugin_imports_no_optional_sdk() -> None:
    code = (
        "import sys, pytest_connectors.plugin\n"
        f"optional = {OPTIONAL!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in optional))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_provider_module_is_imported_with_its_first_connector() -> None:
    code = (
        "import sys\n"
        "from pytest_connectors.checks import provider\n"
        "assert 'pytest_connectors.checks.vault' not in sys.modules\n"
        "assert provider.provider('Vault').__name__ == 'pytest_connectors.checks.vault'\n"
        "assert provider.provider('Jira') is None\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"
