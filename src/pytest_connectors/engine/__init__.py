"""The run's engine: the check registry, the dependency-ordered evaluation of checks, and the
run-scoped resources (sessions, clients, minted tokens) they share."""
