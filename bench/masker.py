"""The masker's cost: registering N secrets, and scrubbing a run's worth of output with them.

For N secrets (random tokens of 20-60 characters, one in ten a multi-line PEM-like value) it
prints, in a fresh masker:

* ``register``: ``Masker.add`` of every value (the start-up registration of a secrets file);
* ``build``: compiling the one pattern of every form (done once, at the first scrub);
* ``scrub``: scrubbing a realistic output volume, field by field as the reports do: the
  JSON report, failure texts and log lines of a run with one connector per secret (about
  2 KB of text per connector), a tenth of the fields holding a secret;
* ``derived``: one more value per connector registered during the run (a Basic pair), each
  followed by a scrub, as checks do.

``total`` is what the masker adds to such a run. Usage: ``python bench/masker.py [N ...]``
(default 100 1000 10000).
"""

from __future__ import annotations

import argparse
import base64
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pytest_connectors.masking import Masker

ALPHABET = string.ascii_letters + string.digits + "-_"
FIELDS = [
    "GitHub rejected account.gh_pat_{i}: 401 Bad credentials (the token is expired or revoked)",
    "Create a new token at https://github.com/settings/tokens with the scopes repo, read:org",
    "Store it as account.gh_pat_{i} and re-run: pytest --connectors=connectors/gh_{i}.yaml",
    "https://api.github.com/repos/acme/repo{i}/collaborators?per_page=100",
    "2024-05-01 12:00:00 DEBUG urllib3.connectionpool Starting new HTTPS connection (1): host",
    "the API server at https://k8s{i}.example.internal:6443 answered 403 Forbidden",
    "secrets file secrets.yaml (keys account.x_{i}); environment variable CONNECTOR_SECRET_X",
    "connectors/github_{i}.yaml:12: spec.authentication.spec.spec.tokenRef",
]


def make_secrets(count: int, rng: random.Random) -> list[str]:
    secrets = []
    for i in range(count):
        if i % 10 == 9:
            body = "".join(rng.choices(ALPHABET, k=64 * 6))
            lines = [body[n : n + 64] for n in range(0, len(body), 64)]
            secrets.append("-----BEGIN KEY-----\n" + "\n".join(lines) + "\n-----END KEY-----\n")
        else:
            secrets.append("".join(rng.choices(ALPHABET, k=rng.randint(20, 60))))
    return secrets


def make_fields(count: int, secrets: list[str], rng: random.Random) -> list[str]:
    fields = []
    for i in range(count):
        for template in FIELDS * 4:  # ~2 KB per connector
            text = template.format(i=i)
            if rng.random() < 0.1:
                text += f" value={rng.choice(secrets)}"
            fields.append(text)
    return fields


def measure(count: int) -> dict[str, float]:
    rng = random.Random(count)
    secrets = make_secrets(count, rng)
    fields = make_fields(count, secrets, rng)
    masker = Masker()
    started = time.perf_counter()
    for n, value in enumerate(secrets):
        masker.add(value, f"account.secret_{n}")
    registered = time.perf_counter()
    masker.scrub("build")
    built = time.perf_counter()
    scrubbed = [masker.scrub(field) for field in fields]
    done = time.perf_counter()
    for n, value in enumerate(secrets):
        masker.add(base64.b64encode(f"user{n}:{value}".encode()).decode())
        masker.scrub(fields[n])
    derived = time.perf_counter()
    assert not any(value in text for value in secrets[:50] for text in scrubbed)
    return {
        "register": registered - started,
        "build": built - registered,
        "scrub": done - built,
        "derived": derived - done,
        "total": derived - started,
        "megabytes": sum(map(len, fields)) / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/masker.py", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("counts", nargs="*", type=int, default=[100, 1000, 10000], metavar="N")
    args = parser.parse_args(argv)
    print(
        f"{'secrets':>8} {'output':>8} {'register':>9} {'build':>7} {'scrub':>7}"
        f" {'derived':>8} {'total':>7}"
    )
    for count in args.counts:
        m = measure(count)
        print(
            f"{count:>8} {m['megabytes']:>6.1f}MB {m['register']:>8.3f}s {m['build']:>6.3f}s"
            f" {m['scrub']:>6.3f}s {m['derived']:>7.3f}s {m['total']:>6.3f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
