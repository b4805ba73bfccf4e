"""Build model objects from loaded YAML documents: one place where raw YAML becomes typed data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ..masking import register_url_credentials
from ..model import (
    HARNESS_TYPES,
    MANAGER_EXECUTABLE_TYPES,
    BrokenDocument,
    Connector,
    ConnectorSpec,
    ConnectorUse,
    DefinitionError,
    ExpressionUse,
    GenericSpec,
    PipelineDocument,
    SecretDefinition,
    SecretKind,
    SecretRef,
)
from ..refs import IDENTIFIER_RE, RESERVED_IDENTIFIERS, Reference, ScopeId, is_expression
from ..yamlload import YamlMap, YamlSeq
from . import aws, azure, docker, gcp, kubernetes, scm, vault
from .known_keys import unknown_fields
from .reader import Findings, SpecReader, did_you_mean

_NAME_RE = re.compile(r"^[a-zA-Z0-9_\-. /]{1,128}$")

BUILDERS: dict[str, Callable[[SpecReader], ConnectorSpec]] = {
    "Github": lambda r: scm.build_hosted_scm(r, "Github"),
    "Gitlab": lambda r: scm.build_hosted_scm(r, "Gitlab"),
    "Bitbucket": lambda r: scm.build_hosted_scm(r, "Bitbucket"),
    "AzureRepo": lambda r: scm.build_hosted_scm(r, "AzureRepo"),
    "Git": scm.build_git,
    "K8sCluster": kubernetes.build,
    "Aws": aws.build,
    "Gcp": gcp.build,
    "Azure": azure.build,
    "Vault": vault.build,
    "DockerRegistry": docker.build,
}


def walk_strings(value: Any, path: str, line: int) -> Iterator[tuple[str, int, str]]:
    """Every string leaf under ``value`` with its field path and line."""
    if isinstance(value, YamlMap):
        for key, child in value.items():
            yield from walk_strings(child, f"{path}.{key}" if path else key, value.line_of(key))
    elif isinstance(value, YamlSeq):
        for index, child in enumerate(value):
            yield from walk_strings(child, f"{path}[{index}]", value.line_of(index))
    elif isinstance(value, str):
        yield path, line, value


def _identifier_problem(identifier: str) -> str | None:
    if not IDENTIFIER_RE.match(identifier):
        return (
            f"identifier '{identifier}' breaks Harness's rule: up to 128 letters, digits, '_' or"
            " '$', not starting with a digit or '$'"
        )
    if identifier in RESERVED_IDENTIFIERS or identifier == "harnessSecretManager":
        return f"identifier '{identifier}' is a reserved word in Harness"
    return None


def read_scope(reader: SpecReader) -> ScopeId:
    org = reader.text("orgIdentifier")
    project = reader.text("projectIdentifier")
    if project and not org:
        reader.error("orgIdentifier", "a project-level entity needs 'orgIdentifier' too")
    for key, value in (("orgIdentifier", org), ("projectIdentifier", project)):
        if value and not is_expression(value) and not IDENTIFIER_RE.match(value):
            reader.error(
                key,
                f"{key} '{value}' breaks Harness's identifier rule: up to 128 letters, digits,"
                " '_' or '$', not starting with a digit or '$'",
            )
    return ScopeId(org, project)


def _generic_refs(reader: SpecReader) -> None:
    """Types without schema: every ``*Ref`` string field is taken as a secret reference."""
    for path, line, value in walk_strings(reader.data, "", reader.line()):
        key = path.rsplit(".", 1)[-1]
        if key.endswith("Ref") and key != "connectorRef" and not is_expression(value):
            reader.findings.refs.append(
                SecretRef(Reference.parse(value.strip()), f"spec.{path}", line, SecretKind.TEXT)
            )


def build_connector(body: Any, file: str, doc_index: int, line: int) -> Connector | BrokenDocument:
    if not isinstance(body, YamlMap):
        return BrokenDocument(file, doc_index, line, "'connector' must be a mapping", "connector")
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        return BrokenDocument(
            file, doc_index, body.line, "the connector has no 'identifier'", "connector.identifier"
        )
    findings = Findings()
    top = SpecReader(body, "", findings)
    problem = _identifier_problem(identifier)
    if problem:
        top.error("identifier", problem)
    name = top.text("name", required=True) or identifier
    if not is_expression(name) and not _NAME_RE.match(name):
        top.error(
            "name", f"name '{name}' may only hold letters, digits, '-', '_', '.', '/' and spaces"
        )
    scope = read_scope(top)
    connector_type = top.text("type", required=True) or ""
    if connector_type and connector_type not in HARNESS_TYPES:
        top.error(
            "type",
            f"'{connector_type}' is not a Harness connector type",
            did_you_mean(connector_type, HARNESS_TYPES),
        )
    spec_reader = top.sub("spec", required=True)
    spec: ConnectorSpec = GenericSpec()
    selectors: tuple[str, ...] = ()
    execute_on_delegate = True
    if spec_reader is not None:
        selectors = spec_reader.strings("delegateSelectors")
        if connector_type in MANAGER_EXECUTABLE_TYPES:
            execute_on_delegate = spec_reader.boolean("executeOnDelegate", default=True)
        builder = BUILDERS.get(connector_type)
        if builder is not None:
            spec = builder(spec_reader)
        else:
            _generic_refs(spec_reader)
    for path, _, value in walk_strings(body, "", body.line):
        if "://" in value and "@" in value:  # https://user:password@host: masked from now on
            register_url_credentials(value, f"{scope.ref_to(identifier)} {path}")
    tags = body.get("tags")
    expressions = tuple(
        ExpressionUse(path, ln, value)
        for path, ln, value in walk_strings(body, "", body.line)
        if is_expression(value) and not path.startswith(("description", "tags"))
    )
    errors = list(findings.errors)
    errors.extend(
        DefinitionError(key, ln, f"key '{key}' appears twice in the same mapping")
        for key, ln in body.duplicate_keys
    )
    return Connector(
        identifier=identifier,
        name=name,
        type=connector_type,
        scope=scope,
        file=file,
        line=body.line,
        spec=spec,
        delegate_selectors=selectors,
        secret_refs=tuple(findings.refs),
        expressions=expressions,
        errors=tuple(errors),
        tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
        description=str(body.get("description") or ""),
        identifier_line=body.line_of("identifier"),
        execute_on_delegate=execute_on_delegate,
        unknown_fields=tuple(unknown_fields(connector_type, body)),
    )


def build_secret(
    body: Any, file: str, doc_index: int, line: int
) -> SecretDefinition | BrokenDocument:
    if not isinstance(body, YamlMap):
        return BrokenDocument(file, doc_index, line, "'secret' must be a mapping", "secret")
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        return BrokenDocument(
            file, doc_index, body.line, "the secret has no 'identifier'", "secret.identifier"
        )
    reader = SpecReader(body, "secret", Findings())
    scope = read_scope(reader)
    spec = reader.sub("spec")
    manager = value_type = value = ssh_user = None
    if spec is not None:
        manager = spec.text("secretManagerIdentifier")
        value_type = spec.text("valueType")
        value = spec.text("value")
        auth = spec.sub("auth")
        inner = auth.sub("spec") if auth else None
        credential = inner.sub("spec") if inner else None
        ssh_user = credential.text("userName") if credential else None
    return SecretDefinition(
        identifier=identifier,
        scope=scope,
        type=str(body.get("type") or "SecretText"),
        manager=manager,
        value_type=value_type,
        value_path=value,
        file=file,
        line=body.line,
        ssh_user=ssh_user,
    )


def _connector_uses(value: Any, path: str) -> Iterator[ConnectorUse]:
    if isinstance(value, YamlMap):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if key == "connectorRef" and isinstance(child, str):
                yield ConnectorUse(child.strip(), child_path, value.line_of(key))
            else:
                yield from _connector_uses(child, child_path)
    elif isinstance(value, YamlSeq):
        for index, child in enumerate(value):
            yield from _connector_uses(child, f"{path}[{index}]")


def build_pipeline(
    kind: str, body: Any, file: str, doc_index: int, line: int
) -> PipelineDocument | BrokenDocument:
    if not isinstance(body, YamlMap):
        return BrokenDocument(file, doc_index, line, f"'{kind}' must be a mapping", kind)
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        identifier = f"{kind}-{doc_index}"
    scope = read_scope(SpecReader(body, kind, Findings()))
    return PipelineDocument(
        kind, identifier, scope, file, body.line, tuple(_connector_uses(body, kind))
    )


__all__ = [
    "BUILDERS",
    "DefinitionError",
    "build_connector",
    "build_pipeline",
    "build_secret",
    "walk_strings",
]
