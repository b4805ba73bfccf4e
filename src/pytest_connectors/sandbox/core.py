"""``Sandbox``: a DNS server, a CA and any number of servers and proxies, all on loopback."""

from __future__ import annotations

import itertools
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .bitbucket import FakeBitbucket
from .bitbucketcloud import FakeBitbucketCloud
from .certs import VARIANTS, Pki, Variant
from .dnsserver import DnsServer
from .githttp import FakeGitHttp
from .github import FakeGitHub
from .gitlab import FakeGitLab
from .httpserver import Handler, HttpServer, SandboxRequest, SandboxResponse
from .kubernetes import FakeKubernetes
from .limits import LimitMode, LimitServer
from .netutil import LOOPBACK, close_all, normalize_name
from .openbao import Mode as OpenBaoMode
from .openbao import OpenBao
from .proxy import Proxy
from .registry import FakeRegistry
from .tcp import Blackhole, Endpoint, Refusing, Silent

AIA_PATH = "/intermediate.crt"
_Peer = TypeVar("_Peer", HttpServer, Endpoint, Silent, OpenBao)


class Sandbox:
    """Real peers on 127.0.0.1. Use as a context manager, or ``start()`` … ``close()``.

    Every server gets a DNS name registered in ``dns`` (→ 127.0.0.1); clients that resolve
    through ``dns`` and trust ``ca_file`` see the sandbox as the outside world.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._dir: Path | None = None
        self._pki: Pki | None = None
        self._dns: DnsServer | None = None
        self._aia: HttpServer | None = None
        self._servers: list[HttpServer | Endpoint | OpenBao] = []
        self._proxies: list[tuple[Proxy, bool]] = []  # (proxy, follows new server ports)
        self._closed = False
        self._ids = itertools.count(1)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Sandbox is closed; create a new one")
            if self._dns is None:
                self._dir = Path(tempfile.mkdtemp(prefix="connectors-sandbox-"))
                self._pki = Pki()
                self._pki.ca.cert_pem.write_to_path(str(self._dir / "ca.pem"))
                self._dns = DnsServer()
        return self

    def close(self) -> None:
        """Stop every server, proxy and thread; remove the temporary directory. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            items: list[Any] = [proxy for proxy, _ in self._proxies] + self._servers
            items += [x for x in (self._aia, self._dns) if x is not None]
            self._proxies, self._servers = [], []
        close_all(items)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what clients need -----------------------------------------------------------------

    @property
    def dns(self) -> DnsServer:
        return self._started()[1]

    @property
    def ca(self) -> trustme.CA:
        """The sandbox root CA (trust it to trust every sandbox server but the broken ones)."""
        return self._started()[0].ca

    @property
    def ca_file(self) -> Path:
        """PEM file of the root CA only: what a delegate CA bundle (``caCertRef``) would hold."""
        return self.dir / "ca.pem"

    @property
    def intermediate_pem(self) -> bytes:
        """PEM of the intermediate CA that issues the leaves (absent from incomplete chains)."""
        return self._started()[0].intermediate_pem

    @property
    def dir(self) -> Path:
        self._started()
        assert self._dir is not None
        return self._dir

    @property
    def servers(self) -> list[HttpServer | Endpoint | OpenBao]:
        with self._lock:
            return list(self._servers)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the sandbox root CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    # -- peers -----------------------------------------------------------------------------

    def https(
        self,
        name: str,
        variant: Variant = "ok",
        latency: float = 0.0,
        handler: Handler | None = None,
        client_ca: str | None = None,
    ) -> HttpServer:
        """A TLS server presenting the ``variant`` certificate (see ``VARIANTS``). With
        ``client_ca`` (PEM) it asks for a client certificate and verifies one against it
        (``SandboxRequest.peer_cert``)."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown TLS variant {variant!r}; one of: {', '.join(VARIANTS)}")
        pki, _ = self._started()
        aia_url = None
        if variant == "incomplete-chain":
            aia_url = f"http://{name}:{self._aia_server().port}{AIA_PATH}"
        served = pki.issue(variant, name, aia_url)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert_file = served.write(self.dir / f"server-{next(self._ids)}.pem")
        context.load_cert_chain(str(cert_file))
        if client_ca is not None:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cadata=client_ca)
        server = HttpServer(
            name,
            context=context,
            latency=latency,
            handler=handler,
            variant=variant,
            chain_pems=served.chain_pems,
        )
        return self._register(server)

    def github(
        self,
        name: str = "github.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeGitHub]:
        """An HTTPS server answering as GitHub Enterprise's REST API (``/api/v3``); ``kwargs``
        go to :class:`FakeGitHub` (``limit``, ``remaining``, ``reset_in``, ...)."""
        fake = FakeGitHub(**kwargs)
        return self.https(name, variant=variant, latency=latency, handler=fake), fake

    def http(self, name: str, latency: float = 0.0, handler: Handler | None = None) -> HttpServer:
        """A plain HTTP server (``url`` is ``http://<name>:<port>``)."""
        self._started()
        return self._register(HttpServer(name, latency=latency, handler=handler, variant="http"))

    def refusing(self, name: str, scheme: str = "https") -> Endpoint:
        """A reserved port where nothing listens: connect() is refused."""
        self._started()
        return self._register(Refusing(name, scheme))

    def blackhole(self, name: str, scheme: str = "https") -> Endpoint:
        """A port whose accept queue is full: connect() runs into the client's timeout."""
        self._started()
        return self._register(Blackhole(name, scheme))

    def silent(self, name: str, scheme: str = "https") -> Silent:
        """Accepts TCP but never sends a byte (TLS handshake / first-byte timeout)."""
        self._started()
        return self._register(Silent(name, scheme))

    def proxy(
        self,
        auth: tuple[str, str] | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        connect_ports: Iterable[int] | None = None,
        timeout: float = 10.0,
        max_clients: int = 100,
    ) -> Proxy:
        """A real tinyproxy. With ``connect_ports=None`` CONNECT is allowed to the port of
        every sandbox server, including servers created later (the proxy reloads); a list
        allows exactly those ports."""
        _, dns = self._started()
        with self._lock:
            follow = connect_ports is None
            ports = [s.port for s in self._servers] if connect_ports is None else connect_ports
            proxy = Proxy(
                self.dir,
                dns.lookup,
                auth=auth,
                allow=allow,
                deny=deny,
                connect_ports=ports,
                timeout=timeout,
                max_clients=max_clients,
            )
            self._proxies.append((proxy, follow))
        return proxy

    def proxy_allows_port(self, port: int) -> None:
        """Allow CONNECT to ``port`` on every proxy of this sandbox (also explicit-port ones)."""
        with self._lock:
            proxies = [proxy for proxy, _ in self._proxies]
        for proxy in proxies:
            proxy.allow_port(port)

    def openbao(self, name: str = "vault.sandbox.test", mode: OpenBaoMode = "dev") -> OpenBao:
        """A real OpenBao server (Vault API) whose TLS listener presents a sandbox-CA
        certificate for ``name`` (see :class:`OpenBao` for ``mode``)."""
        pki, _ = self._started()
        return self._register(OpenBao(name, pki.issue("ok", name, None), self.dir, mode=mode))

    # -- internals -------------------------------------------------------------------------

    def _started(self) -> tuple[Pki, DnsServer]:
        if self._closed:
            raise RuntimeError("this Sandbox is closed")
        if self._pki is None or self._dns is None:
            raise RuntimeError("the Sandbox is not started: use `with Sandbox() as sb` or .start()")
        return self._pki, self._dns

    def _register(self, server: _Peer) -> _Peer:
        _, dns = self._started()
        dns.add(normalize_name(server.name), LOOPBACK)
        with self._lock:
            if self._closed:
                server.close()
                raise RuntimeError("this Sandbox is closed")
            self._servers.append(server)
            followers = [proxy for proxy, follow in self._proxies if follow]
        for proxy in followers:
            proxy.allow_port(server.port)
        return server

    def _aia_server(self) -> HttpServer:
        """Plain HTTP server answering ``GET /intermediate.crt`` with the intermediate (DER),
        at the caIssuers URL of incomplete-chain leaves (any sandbox name reaches it)."""
        with self._lock:
            if self._aia is None:
                pki, _ = self._started()
                der = x509.load_pem_x509_certificate(pki.intermediate_pem).public_bytes(
                    Encoding.DER
                )

                def serve(request: SandboxRequest) -> SandboxResponse:
                    if request.path.split("?", 1)[0] == AIA_PATH:
                        return SandboxResponse(200, {"Content-Type": "application/pkix-cert"}, der)
                    return SandboxResponse(404, {}, b"not found")

                self._aia = HttpServer("aia.sandbox.test", handler=serve, variant="aia")
                self._started()[1].add(self._aia.name, LOOPBACK)
            return self._aia

    # -- API fakes (GitLab, Docker registry, Git smart HTTP) --------------------------------

    def gitlab(
        self,
        name: str = "gitlab.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeGitLab]:
        """An HTTPS server answering as GitLab's REST API (``/api/v4``); ``kwargs`` go to
        :class:`FakeGitLab` (``limit``, ``remaining``, ``reset_in``, ``rate_headers``)."""
        fake = FakeGitLab(**kwargs)
        return self.https(name, variant=variant, latency=latency, handler=fake), fake

    def kubernetes(
        self,
        name: str = "k8s.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        client_ca: str | None = None,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeKubernetes]:
        """An HTTPS kube-apiserver fake (:class:`FakeKubernetes`; ``kwargs`` go to it) that
        asks for client certificates and verifies them against ``client_ca`` (PEM; default the
        sandbox CA: ``issue_client_cert(sb.ca, user)`` makes one)."""
        fake = FakeKubernetes(**kwargs)
        ca = client_ca if client_ca is not None else self.ca.cert_pem.bytes().decode()
        server = self.https(name, variant=variant, latency=latency, handler=fake, client_ca=ca)
        return server, fake

    def registry(
        self,
        name: str = "registry.sandbox.test",
        token_server: bool = True,
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeRegistry]:
        """An HTTPS Docker Registry V2 (``/v2/``) whose token server is ``/token`` on the same
        server (``token_server=False``: Basic auth on ``/v2/``); ``kwargs`` go to
        :class:`FakeRegistry` (``anonymous``, ``expires_in``, ``service``)."""
        kwargs.setdefault("service", name)
        fake = FakeRegistry(token_server=token_server, **kwargs)
        server = self.https(name, variant=variant, latency=latency, handler=fake)
        fake.realm = f"{server.url}/token"
        return server, fake

    def git_http(
        self,
        name: str = "git.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeGitHttp]:
        """An HTTPS Git smart HTTP server (``/<repo>/info/refs?service=git-upload-pack``)
        behind Basic auth; ``kwargs`` go to :class:`FakeGitHttp`."""
        fake = FakeGitHttp(**kwargs)
        return self.https(name, variant=variant, latency=latency, handler=fake), fake

    def limited(
        self,
        name: str,
        limit: int = 2,
        mode: LimitMode = "429",
        hold: float = 2.0,
        expect: int | None = None,
        scheme: str = "https",
        **kwargs: Any,
    ) -> LimitServer:
        """A server admitting ``limit`` concurrent requests (see :class:`LimitServer`): admitted
        ones are held until ``expect`` requests arrived or ``hold`` seconds passed; the others
        get 429 + Retry-After (``mode="429"``), 503, or a TCP reset (``mode="reset"``)."""
        pki, _ = self._started()
        context: ssl.SSLContext | None = None
        chain: tuple[bytes, ...] = ()
        if scheme == "https":
            served = pki.issue("ok", name, None)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(served.write(self.dir / f"server-{next(self._ids)}.pem")))
            chain = served.chain_pems
        elif scheme != "http":
            raise ValueError(f"scheme must be https or http, not {scheme!r}")
        server = LimitServer(
            name, limit=limit, mode=mode, hold=hold, expect=expect, context=context,
            chain_pems=chain, **kwargs,
        )  # fmt: skip
        self._register(server)
        return server

    def bitbucket(
        self,
        name: str = "bitbucket.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeBitbucket]:
        """An HTTPS server answering as Bitbucket Server / Data Center's REST API
        (``/rest/api/1.0``); ``kwargs`` go to :class:`FakeBitbucket` (``bucket``,
        ``rate_headers``, ``version``)."""
        fake = FakeBitbucket(**kwargs)
        return self.https(name, variant=variant, latency=latency, handler=fake), fake

    def bitbucket_cloud(
        self,
        name: str = "bitbucket-cloud.sandbox.test",
        variant: Variant = "ok",
        latency: float = 0.0,
        **kwargs: Any,
    ) -> tuple[HttpServer, FakeBitbucketCloud]:
        """An HTTPS server answering as Bitbucket Cloud's REST API (``/2.0``); point a connector
        at it with the setting ``bitbucket: {apiUrl: "<server url>/2.0"}``. ``kwargs`` go to
        :class:`FakeBitbucketCloud` (``rate_headers``, ``rate_limit``)."""
        fake = FakeBitbucketCloud(**kwargs)
        return self.https(name, variant=variant, latency=latency, handler=fake), fake
