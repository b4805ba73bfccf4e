"""Collection cost: pytest-connectors vs the floor measured in the same run.

For N connectors (a mix of the ten supported types, five per file) it prints the wall time and
peak RSS of ``pytest --collect-only`` over them, next to two floors:

* ``yaml``: a raw ``yaml.load`` (CSafeLoader) of the same files;
* ``pytest``: pytest collecting N x (items per connector) trivial parametrized items.

Each measurement runs in a fresh interpreter and is repeated; the best wall time is kept.
Usage: ``python bench/collect.py [N ...]`` (default 100 1000 5000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PER_FILE = 5
REPEATS = 3

TEMPLATES = {
    "Github": """
connector:
  name: gh {i}
  identifier: gh_{i}
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/repo{i}
    authentication:
      type: Http
      spec: {{type: UsernameToken, spec: {{username: bot, tokenRef: account.gh_pat}}}}
    apiAccess: {{type: Token, spec: {{tokenRef: account.gh_pat}}}}
    delegateSelectors: [dmz]
""",
    "K8sCluster": """
connector:
  name: k8s {i}
  identifier: k8s_{i}
  orgIdentifier: platform
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://k8s{i}.example.internal:6443
        auth:
          type: ServiceAccount
          spec: {{serviceAccountTokenRef: account.k8s_token, caCertRef: account.k8s_ca}}
    delegateSelectors: [dmz]
""",
    "Aws": """
connector:
  name: aws {i}
  identifier: aws_{i}
  type: Aws
  spec:
    credential:
      type: ManualConfig
      spec: {{accessKey: AKIAEXAMPLE{i}, secretKeyRef: account.aws_sk}}
      region: us-east-1
    delegateSelectors: [dmz]
""",
    "Vault": """
connector:
  name: vault {i}
  identifier: vault_{i}
  type: Vault
  spec:
    vaultUrl: https://vault{i}.example.internal:8200
    basePath: harness
    secretEngineName: secret
    secretEngineVersion: 2
    authToken: account.vault_token
    delegateSelectors: [dmz]
""",
    "DockerRegistry": """
connector:
  name: registry {i}
  identifier: registry_{i}
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://registry{i}.example.internal/v2/
    providerType: Other
    auth:
      type: UsernamePassword
      spec: {{username: bot, passwordRef: account.registry_pw}}
    delegateSelectors: [dmz]
""",
}


def write_connectors(root: Path, count: int) -> int:
    templates = list(TEMPLATES.values())
    for start in range(0, count, PER_FILE):
        documents = [
            templates[i % len(templates)].format(i=i).strip()
            for i in range(start, min(start + PER_FILE, count))
        ]
        (root / f"c{start // PER_FILE:05d}.yaml").write_text("\n---\n".join(documents) + "\n")
    return count


CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    started = time.perf_counter()
    {body}
    elapsed = time.perf_counter() - started
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH " + json.dumps({{"wall_s": elapsed, "rss_mib": rss_mib, "extra": extra}}))
    """
)

BODIES = {
    "yaml": """
import pathlib, yaml
extra = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    extra += sum(1 for _ in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
""",
    "pytest": """
import pytest, contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    extra = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:connectors",
                         sys.argv[1]])
""",
    "connectors": """
import pytest, contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    extra = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider",
                         "--connectors", sys.argv[1]])
""",
}


# Bytecode caching as on a user's machine (some CI images disable it): without it, every run
# recompiles (and assertion-rewrites) the plugin's modules, which the floor never pays.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(kind: str, target: Path, cwd: Path) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(REPEATS + 1):  # the first run warms the bytecode caches
        code = CHILD.format(body=textwrap.indent(textwrap.dedent(BODIES[kind]), "    ").strip())
        code = "\n".join(line[4:] if line.startswith("    ") else line for line in code.split("\n"))
        proc = subprocess.run(
            [sys.executable, "-c", code, str(target)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=ENV,
            check=False,
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
        if line is None:
            raise SystemExit(f"{kind} run failed:\n{proc.stdout}\n{proc.stderr}")
        data = json.loads(line[6:])
        if best is None or data["wall_s"] < best["wall_s"]:
            best = data
    assert best is not None
    return best


def trivial_items(root: Path, count: int) -> Path:
    path = root / "test_trivial.py"
    path.write_text(
        "import pytest\n\n"
        f"@pytest.mark.parametrize('i', range({count}))\n"
        "def test_item(i):\n    pass\n"
    )
    return path


def main(sizes: list[int]) -> None:
    print(f"{'N':>6} {'items':>7} {'what':<11} {'wall s':>8} {'peak MiB':>9} {'x floor':>8}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            folder = root / "connectors"
            folder.mkdir()
            write_connectors(folder, size)
            ours = measure("connectors", folder, root)
            items = int(ours["extra"] == 0) and 0  # exit code 0 expected; items counted below
            items = _count_items(folder, root)
            raw = measure("yaml", folder, root)
            floor_dir = root / "floor"
            floor_dir.mkdir()
            floor = measure("pytest", trivial_items(floor_dir, items), root)
            floor_total = raw["wall_s"] + floor["wall_s"]
            for name, data, ratio in (
                ("yaml load", raw, None),
                ("pytest", floor, None),
                ("connectors", ours, ours["wall_s"] / floor_total),
            ):
                shown = f"{ratio:8.2f}" if ratio is not None else f"{'':>8}"
                print(
                    f"{size:>6} {items:>7} {name:<11} {data['wall_s']:8.3f}"
                    f" {data['rss_mib']:9.1f} {shown}"
                )
    print("x floor = connectors wall time / (yaml load + pytest trivial items) wall time")


def _count_items(folder: Path, cwd: Path) -> int:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "--connectors",
            str(folder),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        check=False,
    )
    return sum(1 for line in proc.stdout.splitlines() if "::" in line)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], epilog="Prints a table; loopback only."
    )
    parser.add_argument(
        "sizes",
        nargs="*",
        type=int,
        metavar="N",
        help="connector counts (default: 100, 1000, 5000)",
    )
    main(parser.parse_args().sizes or [100, 1000, 5000])
