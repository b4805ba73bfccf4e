"""Network probes: DNS, TCP (direct or through the delegate's proxy), TLS and first byte.

Each probe is a plain function with a timeout that never raises for network trouble: it returns
a result that names what happened, so the checks can map it to a failure mode in one place.
"""
