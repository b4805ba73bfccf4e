"""Harness scopes and references (``account.x``, ``org.x``, ``x``) and the rules that bind them.

A reference is written relative to the scope of whoever holds it: ``x`` means "in my project",
``org.x`` "in my organisation", ``account.x`` "in the account". Harness splits on the first dot
and accepts only ``account`` and ``org`` as prefixes (case-insensitive); ``project.x`` is invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

IDENTIFIER_RE = re.compile(r"^[a-zA-Z_][0-9a-zA-Z_$]{0,127}$")
#: Secrets may also hold '-' (Harness's entity identifier reference: "hyphens are allowed only
#: for secrets").
SECRET_IDENTIFIER_RE = re.compile(r"^[a-zA-Z_][0-9a-zA-Z_$-]{0,127}$")
RESERVED_IDENTIFIERS = frozenset(
    [
        "or",
        "and",
        "eq",
        "ne",
        "lt",
        "gt",
        "le",
        "ge",
        "div",
        "mod",
        "not",
        "null",
        "true",
        "false",
        "new",
        "var",
        "return",
        "step",
        "parallel",
        "stepGroup",
        "org",
        "account",
        "class",
        "shellScriptProvisioner",
        "status",
        "liteEngineTask",
    ]
)
EXPRESSION_MARK = "<+"


def is_expression(value: object) -> bool:
    """A Harness runtime expression (or a string containing one): resolved only in a pipeline."""
    return isinstance(value, str) and EXPRESSION_MARK in value


class Scope(str, Enum):
    ACCOUNT = "account"
    ORG = "org"
    PROJECT = "project"

    @property
    def rank(self) -> int:
        return {"account": 0, "org": 1, "project": 2}[self.value]


@dataclass(frozen=True)
class ScopeId:
    """Where an entity lives: no org/project = account; org only = org; both = project."""

    org: str | None = None
    project: str | None = None

    @property
    def level(self) -> Scope:
        if self.project:
            return Scope.PROJECT
        if self.org:
            return Scope.ORG
        return Scope.ACCOUNT

    def narrowed_to(self, scope: Scope) -> ScopeId:
        """The enclosing scope at ``scope`` level, seen from this one."""
        if scope is Scope.ACCOUNT:
            return ScopeId()
        if scope is Scope.ORG:
            return ScopeId(self.org)
        return self

    def describe(self) -> str:
        if self.level is Scope.PROJECT:
            return f"project {self.org}/{self.project}"
        if self.level is Scope.ORG:
            return f"org {self.org}"
        return "account"

    def ref_to(self, identifier: str) -> str:
        """How Harness writes a reference to ``identifier`` living at this scope, from inside it."""
        if self.level is Scope.ACCOUNT:
            return f"account.{identifier}"
        if self.level is Scope.ORG:
            return f"org.{identifier}"
        return identifier

    def ref_from(self, holder: ScopeId, identifier: str) -> str | None:
        """How ``holder`` must write a reference to ``identifier`` living here (None: it cannot)."""
        if self.level is Scope.ACCOUNT:
            return f"account.{identifier}"
        if self.level is Scope.ORG and holder.org == self.org:
            return f"org.{identifier}"
        if self == holder:
            return identifier
        return None


@dataclass(frozen=True)
class Reference:
    """A reference as written. ``scope`` is None when the prefix is not one Harness accepts."""

    raw: str
    scope: Scope | None
    identifier: str

    @classmethod
    def parse(cls, raw: str) -> Reference:
        prefix, dot, rest = raw.partition(".")
        if not dot:
            return cls(raw, Scope.PROJECT, raw)
        lowered = prefix.lower()
        if lowered == "account":
            return cls(raw, Scope.ACCOUNT, rest)
        if lowered == "org":
            return cls(raw, Scope.ORG, rest)
        return cls(raw, None, rest)

    @property
    def problem(self) -> str | None:
        """Why Harness would reject this reference's syntax, or None."""
        if self.scope is None:
            prefix = self.raw.partition(".")[0]
            if prefix.lower() == "project":
                return (
                    f"'{self.raw}' uses the prefix 'project.', which Harness does not accept:"
                    " a project-level entity is referenced by its bare identifier"
                )
            return f"'{self.raw}' has the prefix '{prefix}.'; only 'account.' and 'org.' exist"
        if not self.identifier:
            return f"'{self.raw}' names no identifier after the prefix"
        return None

    def identifier_problem(self, *, secret: bool = False) -> str | None:
        """Why the identifier part breaks Harness's identifier rule (secrets may hold '-')."""
        if self.problem or is_expression(self.raw):
            return None
        rule = SECRET_IDENTIFIER_RE if secret else IDENTIFIER_RE
        if not rule.match(self.identifier):
            extra = ", '-'" if secret else ""
            return (
                f"'{self.raw}' names the identifier '{self.identifier}', which breaks Harness's"
                f" rule: up to 128 letters, digits, '_', '$'{extra}, not starting with a digit,"
                " '$' or '-'"
            )
        if self.identifier in RESERVED_IDENTIFIERS:
            return f"'{self.raw}' names '{self.identifier}', a word Harness reserves"
        return None

    def target(self, holder: ScopeId) -> ScopeId | None:
        """The scope the referenced entity must live in, seen from ``holder``."""
        if self.scope is None:
            return None
        return holder.narrowed_to(self.scope)

    def scope_problem(self, holder: ScopeId) -> str | None:
        """Harness's rule: an entity may not use references narrower than its own scope."""
        if self.scope is None or self.scope.rank <= holder.level.rank:
            return None
        article = "a" if holder.level is Scope.PROJECT else "an"
        return (
            f"{article} {holder.level.value}-level entity cannot use the {self.scope.value}-level"
            f" reference '{self.raw}'"
        )
