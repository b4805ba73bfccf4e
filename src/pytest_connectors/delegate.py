"""The delegate this run acts as: identity, selectors, proxy, resolvers and trust.

Sources, strongest first: command-line options, the ``pytestConnectors.delegates`` inventory
entry with this delegate's name, then the environment variables a Harness delegate has
(``DELEGATE_NAME``, ``DELEGATE_TAGS``, ``PROXY_HOST`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .masking import redact_url, url_credentials
from .secrets import Secret, SecretChain, SecretNotFound
from .settings import DelegateEntry, Settings


@dataclass(frozen=True)
class ProxyConfig:
    scheme: str
    host: str
    port: int
    user: Secret | None = None
    password: Secret | None = None
    no_proxy: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """The proxy URL without credentials (safe to print)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def basic_credentials(self) -> str | None:
        """``user:password`` for Basic proxy authentication (revealed: for the wire only)."""
        if self.user is None and self.password is None:
            return None
        user = self.user.reveal() if self.user else ""
        password = self.password.reveal() if self.password else ""
        return f"{user}:{password}"

    def url_with_credentials(self) -> str:
        """The proxy URL with its credentials, quoted (revealed: for HTTP clients only)."""
        if self.user is None and self.password is None:
            return self.url
        # the masker masks the quoted forms too: a client error may quote this URL
        user = quote(self.user.reveal() if self.user else "", safe="")
        password = quote(self.password.reveal() if self.password else "", safe="")
        return f"{self.scheme}://{user}:{password}@{self.host}:{self.port}"

    def exempts(self, host: str) -> bool:
        """NO_PROXY as a Harness delegate applies it: a comma list of domain suffixes."""
        host = host.lower().rstrip(".")
        for entry in self.no_proxy:
            suffix = entry.strip().lower().lstrip("*")
            if not suffix:
                continue
            if host == suffix.lstrip(".") or host.endswith(
                suffix if suffix[0] == "." else "." + suffix
            ):
                return True
        return False


@dataclass(frozen=True)
class Resolver:
    address: str
    port: int = 53

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Resolver:
        text = text.strip()
        if text.startswith("["):  # [::1]:5353
            address, _, port = text[1:].partition("]")
            return cls(address, int(port.lstrip(":") or 53))
        if text.count(":") == 1:
            address, port = text.split(":")
            return cls(address, int(port))
        return cls(text)


@dataclass(frozen=True)
class DelegateContext:
    name: str | None = None
    tags: tuple[str, ...] = ()
    proxy: ProxyConfig | None = None
    resolvers: tuple[Resolver, ...] = ()
    ca_bundle: str | None = None
    region: str | None = None
    connected: bool | None = None
    healthy: bool | None = None
    problems: tuple[str, ...] = ()

    @property
    def identity_known(self) -> bool:
        return bool(self.name)

    @property
    def selectors(self) -> frozenset[str]:
        """What Harness matches selectors against: tags plus the delegate name, lower-cased."""
        names = (*self.tags, self.name) if self.name else self.tags
        return frozenset(n.lower() for n in names)

    def qualifies(self, selectors: tuple[str, ...]) -> bool:
        return {s.lower() for s in selectors} <= self.selectors

    def summary(self) -> dict[str, object]:
        """JSON-safe facts for reports (no credentials)."""
        return {
            "name": self.name,
            "tags": list(self.tags),
            "proxy": self.proxy.url if self.proxy else None,
            "no_proxy": list(self.proxy.no_proxy) if self.proxy else [],
            "resolvers": [str(r) for r in self.resolvers],
            "ca_bundle": self.ca_bundle,
        }


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(",") if t.strip())


def parse_proxy_url(
    url: str,
    no_proxy: tuple[str, ...] = (),
    user: Secret | None = None,
    password: Secret | None = None,
) -> ProxyConfig:
    """``http://[user:pass@]host:port``; credentials in the URL become secrets (masked before
    anything about the URL is said: an error quotes it without them)."""
    url_user, url_password = proxy_url_secrets(url)
    user, password = user or url_user, password or url_password
    full = url if "://" in url else f"http://{url}"
    shown = redact_url(full)[len(full) - len(url) :]  # as written, without the credentials
    try:
        parts = urlsplit(full)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"proxy URL {shown!r} is malformed ({exc})") from None
    if not parts.hostname:
        raise ValueError(f"proxy URL {shown!r} names no host")
    scheme = parts.scheme or "http"
    port = port or (443 if scheme == "https" else 3128)
    return ProxyConfig(scheme, parts.hostname, port, user, password, no_proxy)


def proxy_url_secrets(url: str) -> tuple[Secret | None, Secret | None]:
    """The user and password written into a proxy URL, as secrets (so: masked)."""
    user, password = url_credentials(url if "://" in url else f"http://{url}")
    return (
        Secret(unquote(user), "proxy user", "proxy URL") if user else None,
        Secret(unquote(password), "proxy password", "proxy URL") if password else None,
    )


def register_proxy_credentials(url: str | None, environ: Mapping[str, str]) -> None:
    """Mask the proxy credentials of ``--connectors-proxy`` and ``PROXY_USER`` /
    ``PROXY_PASSWORD`` at start-up: the command line is quoted (``--debug``, a usage error)
    before any check runs."""
    if url:
        proxy_url_secrets(url)
    for name in ("PROXY_USER", "PROXY_PASSWORD"):
        if environ.get(name):
            Secret(environ[name], name, "environment")


@dataclass(frozen=True)
class DelegateOptions:
    """What the command line said (None: not given)."""

    name: str | None = None
    tags: str | None = None
    dns: str | None = None
    proxy: str | None = None
    ca_bundle: str | None = None


def build_delegate_context(
    options: DelegateOptions,
    settings: Settings,
    environ: Mapping[str, str],
    secrets: SecretChain,
) -> DelegateContext:
    problems: list[str] = []
    name = options.name or environ.get("DELEGATE_NAME") or None
    entry = next((d for d in settings.delegates if name and d.name.lower() == name.lower()), None)
    if options.tags is not None:
        tags = _split(options.tags)
    elif entry is not None:
        tags = entry.tags
    else:
        tags = _split(environ.get("DELEGATE_TAGS"))
    proxy = _proxy(options, entry, environ, secrets, problems)
    if options.dns:
        resolvers = tuple(Resolver.parse(r) for r in _split(options.dns))
    elif entry is not None:
        resolvers = tuple(Resolver.parse(r) for r in entry.resolvers)
    else:
        resolvers = ()
    ca_bundle = options.ca_bundle or (entry.ca_bundle if entry else None)
    return DelegateContext(
        name=name,
        tags=tags,
        proxy=proxy,
        resolvers=resolvers,
        ca_bundle=ca_bundle,
        region=entry.region if entry else None,
        connected=entry.connected if entry else None,
        healthy=entry.healthy if entry else None,
        problems=tuple(problems),
    )


def _proxy(
    options: DelegateOptions,
    entry: DelegateEntry | None,
    environ: Mapping[str, str],
    secrets: SecretChain,
    problems: list[str],
) -> ProxyConfig | None:
    env_no_proxy = _split(environ.get("NO_PROXY") or environ.get("no_proxy"))
    try:
        if options.proxy:
            return parse_proxy_url(options.proxy, env_no_proxy)
        if entry is not None and entry.proxy is not None:
            user = password = None
            for label, ref in (
                ("user", entry.proxy.user_ref),
                ("password", entry.proxy.password_ref),
            ):
                if ref is None:
                    continue
                try:
                    value = secrets.resolve(ref)
                except (SecretNotFound, ValueError) as exc:
                    problems.append(f"proxy {label} {ref.raw}: {exc}")
                    continue
                if label == "user":
                    user = value
                else:
                    password = value
            return parse_proxy_url(entry.proxy.url, entry.proxy.no_proxy, user, password)
        host = environ.get("PROXY_HOST")
        if host:
            scheme = environ.get("PROXY_SCHEME") or "http"
            port = environ.get("PROXY_PORT") or ("443" if scheme == "https" else "3128")
            user_value, password_value = environ.get("PROXY_USER"), environ.get("PROXY_PASSWORD")
            return parse_proxy_url(
                f"{scheme}://{host}:{port}",
                env_no_proxy,
                Secret(user_value, "PROXY_USER", "environment") if user_value else None,
                Secret(password_value, "PROXY_PASSWORD", "environment") if password_value else None,
            )
    except ValueError as exc:
        problems.append(f"proxy: {exc}")
    return None


def proxy_configured(
    options: DelegateOptions, settings: Settings, environ: Mapping[str, str]
) -> bool:
    """Whether this run's delegate has a proxy, known without resolving any secret."""
    if options.proxy or environ.get("PROXY_HOST"):
        return True
    name = options.name or environ.get("DELEGATE_NAME")
    return any(
        d.proxy is not None for d in settings.delegates if name and d.name.lower() == name.lower()
    )


def without_missing_ca_bundle(delegate: DelegateContext) -> DelegateContext:
    """An inventory ``caBundle`` that does not exist is reported, and the system store used."""
    if delegate.ca_bundle is None or Path(delegate.ca_bundle).is_file():
        return delegate
    problem = f"CA bundle {delegate.ca_bundle} does not exist: the system trust store is used"
    return replace(delegate, ca_bundle=None, problems=(*delegate.problems, problem))
