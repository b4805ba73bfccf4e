"""What the network checks share: a connector's endpoints, its trust, and its probes."""

from __future__ import annotations

from ..endpoints import Endpoint, EndpointError, endpoints_for, has_endpoints
from ..model import Connector
from ..probes.connection import ConnectionProbe
from ..probes.tls import Trust
from ..results import Failure
from ..secrets import SecretNotFound
from .context import CheckContext, CollectContext
from .shapes import pem_or_base64

CA_FIELD = "caCertRef"
#: Evidence of every network check of a connector that connects through Harness Platform.
PLATFORM_EGRESS = (
    "checked from this host; Harness itself connects from its platform addresses"
    " (executeOnDelegate: false), which the target must allow"
)
#: What a check that talks to the connector's endpoints needs to have passed first.
CONNECTED = ("definition", "expressions", "delegate", "secrets", "dns", "proxy", "tcp", "tls")


def applies_to_network(connector: Connector, collect: CollectContext) -> bool:
    return connector.supported and has_endpoints(connector)


def endpoints(ctx: CheckContext) -> list[Endpoint]:
    """The connector's endpoints; a malformed URL is this connector's incorrect-endpoint."""
    if not ctx.connector.execute_on_delegate:
        ctx.note(connects_from=PLATFORM_EGRESS)
    try:
        return endpoints_for(ctx.connector, ctx.expectations.provider)
    except EndpointError as exc:
        raise Failure(
            "incorrect-endpoint",
            f"'{exc.url}' is not usable: {exc.problem}",
            url=exc.url,
            problem=exc.problem,
        ) from None


def trust(ctx: CheckContext) -> Trust:
    """The connector's own CA when it names one (as its kubeconfig would use it, alone), else
    the delegate's extra bundle with the system store, else the system store."""
    ca_ref = next((r for r in ctx.connector.secret_refs if r.field_path.endswith(CA_FIELD)), None)
    if ca_ref is not None:
        try:
            secret = ctx.secrets.resolve(ca_ref.reference, ctx.connector.scope)
        except (SecretNotFound, ValueError):
            pass  # the secrets check names this; verify with the delegate's trust instead
        else:
            pem = pem_or_base64(secret.reveal()).decode(errors="replace")
            candidate = Trust(f"connector caCertRef {ca_ref.raw}", cadata=pem)
            if candidate.usable:
                return candidate
            # Not a certificate: the secrets check names it and blocks tls; connect anyway.
    if ctx.delegate.ca_bundle:
        return Trust(f"delegate CA bundle {ctx.delegate.ca_bundle}", cafile=ctx.delegate.ca_bundle)
    return Trust("system trust store")


def connection(ctx: CheckContext, endpoint: Endpoint) -> ConnectionProbe:
    return ctx.prober.connection(endpoint, trust(ctx)).result()


def probes_of(ctx: CheckContext) -> list[tuple[Endpoint, Trust]]:
    """The connection probes this connector's network checks will read."""
    connector_trust = trust(ctx)
    return [(endpoint, connector_trust) for endpoint in endpoints(ctx)]
