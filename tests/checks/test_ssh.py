"""SSH endpoints: the ``tcp`` check reads what the server sends first and wants an SSH
identification line (``SSH-2.0-...``, RFC 4253 section 4.2); anything else on that port is
``incorrect-endpoint``.
"""

from __future__ import annotations

import contextlib
import socket
import textwrap
import threading
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pytest_connectors.sandbox import Sandbox

BANNER = b"SSH-2.0-OpenSSH_9.2\r\n"
KEY_REF = "account.ssh_key"


@pytest.fixture(scope="module")
def ssh_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@contextlib.contextmanager
def greeting_server(sb: Sandbox, name: str, greeting: bytes) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that sends ``greeting`` to every client, then waits for it to
    hang up; ``name`` resolves to it through the sandbox DNS. Yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with client:
                client.settimeout(5.0)
                with contextlib.suppress(OSError):
                    client.sendall(greeting)
                    while client.recv(4096):  # until the client closes
                        pass

    thread = threading.Thread(target=serve, name=f"greeting-{name}", daemon=True)
    thread.start()
    sb.dns.add(name, "127.0.0.1")
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5.0)
        listener.close()


def git_ssh(identifier: str, url: str) -> str:
    """A generic Git connector over SSH."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Git
          spec:
            connectionType: Repo
            url: {url}
            type: Ssh
            spec:
              sshKeyRef: {KEY_REF}
            delegateSelectors: [demo]
        """
    )


def test_ssh_server_banner_passes(sb, run_connectors, ssh_key_pem):
    with greeting_server(sb, "ssh.sandbox.test", BANNER) as port:
        run = run_connectors(
            git_ssh("gs", f"ssh://git@ssh.sandbox.test:{port}/org/app.git"),
            secrets={KEY_REF: ssh_key_pem},
        )

    evidence = run.assert_passed("gs", "tcp")
    assert evidence[f"ssh.sandbox.test:{port}"]["banner"] == "SSH-2.0-OpenSSH_9.2"
    run.assert_passed("gs", "latency")


def test_other_protocol_on_the_port_is_incorrect_endpoint(sb, run_connectors, ssh_key_pem):
    with greeting_server(sb, "mail.sandbox.test", b"220 mail.sandbox.test ESMTP ready\r\n") as port:
        run = run_connectors(
            git_ssh("gs", f"ssh://git@mail.sandbox.test:{port}/org/app.git"),
            secrets={KEY_REF: ssh_key_pem},
        )

    evidence = run.assert_failed("gs", "tcp", "incorrect-endpoint")
    assert evidence["first_line"] == "220 mail.sandbox.test ESMTP ready"
    assert evidence["port"] == port
    message = run.check("gs", "tcp")["message"]
    assert f"port {port}" in message and "not an SSH server" in message
    assert "220 mail.sandbox.test ESMTP ready" in message
    run.assert_blocked("gs", "tcp", "incorrect-endpoint", ["latency"])


def test_http_server_on_the_ssh_port_is_incorrect_endpoint(sb, run_connectors, ssh_key_pem):
    web = sb.http("web.sandbox.test")  # an HTTP server waits for a request: it never speaks first

    run = run_connectors(
        git_ssh("gs", f"ssh://git@web.sandbox.test:{web.port}/org/app.git"),
        secrets={KEY_REF: ssh_key_pem},
        timeout=1.0,
    )

    evidence = run.assert_failed("gs", "tcp", "incorrect-endpoint")
    assert evidence["port"] == web.port
    assert "not an SSH server" in evidence["problem"]
    assert "sent nothing" in run.check("gs", "tcp")["message"]
    run.assert_blocked("gs", "tcp", "incorrect-endpoint", ["latency"])
