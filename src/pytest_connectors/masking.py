"""The masker: every secret value known to this process is scrubbed from every output.

It is process-wide on purpose: a secret can surface anywhere (log records, tracebacks with
``--showlocals``, third-party exception text), so scrubbing must not depend on which object
happens to hold a reference to a per-run registry.

A value is registered with the forms it is commonly turned into (see :func:`derived_forms`).
Forms are matched by a regular expression compiled from a trie of them (leftmost, then longest
match wins; the engine follows one branch per character instead of trying every form), built
lazily at the first scrub after a change: the secrets registered at start-up are one pattern.
Forms added later are matched by substring search until there are a few dozen, then compiled
into a pattern of their own, which merges with older ones as it grows (each pattern at least
as large as the next newer one, so a scrub runs a handful of patterns and each form is compiled
a few times at most). A scrub masks the union of every match, so overlapping secrets matched by
different patterns are masked whole.

Base64 is read rather than guessed: a scrub decodes every base64-looking run of the text and
masks the run if what it decodes to holds a secret. That covers a Basic ``user:password`` pair,
a Kubernetes secret's data or a Docker ``auth`` field without registering each of them, at any
offset of the encoded text; a value that is itself such an encoding is not registered at all.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LENGTH = 4
#: Forms matched by substring search before they are compiled into a pattern.
_PENDING_MAX = 32
#: What base64 (standard or URL-safe) looks like in output, long enough to be worth decoding.
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_URLSAFE = str.maketrans("-_", "+/")
_DECODED_MAX = 4096


class FormSet:
    """Forms compiled into one pattern of *keys*: up to ``KEY`` characters of each form from
    its first upper-case letter or digit on (its anchor), or from its start if it has none.
    Output is mostly lower-case words, paths and spaces, where no key can start: the regex
    engine skips those characters without entering the trie, which makes a scan several times
    faster than one of keys at the forms' starts. A key found is extended both ways to its
    form, or as far as the text holds it (a secret cut short in output is masked as far as it
    goes). PEM armour is public: an anchor is never in it.
    """

    KEY = 16
    #: A form this short is its own key.
    SHORT = 8
    _RARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    def __init__(self, forms: Iterable[str]) -> None:
        self.forms = frozenset(forms)
        anchored: dict[str, list[tuple[int, str]]] = {}
        for form in self.forms:
            at = self.anchor(form)
            anchored.setdefault(form[at : at + self.KEY], []).append((at, form))
        self.anchored = {key: tuple(found) for key, found in anchored.items()}
        self.pattern = compile_forms(self.anchored)

    @classmethod
    def anchor(cls, form: str) -> int:
        """Where a form's key starts."""
        if len(form) <= cls.SHORT:
            return 0
        end = form.find("-----", 5) if form.startswith("-----") else -1
        skip = end + 5 if end != -1 and end + 5 + cls.SHORT <= len(form) else 0
        for at in range(skip, len(form) - cls.SHORT + 1):
            if form[at] in cls._RARE:
                return at
        return skip

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        if self.pattern is None:
            return
        match = self.pattern.search(text)
        while match is not None:
            found = match.start()
            yield max(
                (_extent(text, found, at, form) for at, form in self.anchored[match.group()]),
                key=lambda span: span[1] - span[0],
            )
            match = self.pattern.search(text, found + 1)  # one that starts inside this one too


def _extent(text: str, found: int, at: int, form: str) -> tuple[int, int]:
    """The span of ``form`` whose key (``form[at:]``'s start) was found at ``found``: as far
    as the text holds the form on either side of it."""
    before = _common_suffix(text[max(0, found - at) : found], form[:at]) if at else 0
    return found - before, found + _common_prefix(text, found, form[at:])


class Masker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pending: tuple[str, ...] = ()
        # what scrubs read without the lock, swapped as one: (compiled sets, oldest and
        # largest first; forms not compiled yet)
        self._state: tuple[tuple[FormSet, ...], tuple[str, ...]] = ((), ())
        self._unmaskable: dict[str, None] = {}
        # base64 run -> whether it decodes to a secret: the same runs recur in every report
        self._decoded: dict[str, bool] = {}

    def add(self, value: str, reference: str | None = None, *, case_variants: bool = False) -> None:
        """Register a secret value and its derived forms. ``reference`` names it in the warning
        about values too short to mask; ``case_variants`` masks its lower- and upper-cased
        forms too (for a value the product itself re-cases, such as a user slug)."""
        if reference and len(value.strip()) < MIN_LENGTH:
            with self._lock:
                self._unmaskable.setdefault(reference)
        decoded = _maybe_base64(value)
        if decoded and _B64_RUN.fullmatch(value.strip()) and self._holds_secret(decoded):
            return  # an encoding of known secrets (a Basic pair): every scrub decodes it
        forms = derived_forms(value, case_variants=case_variants)
        with self._lock:
            new = forms - self._forms
            if not new:
                return
            self._forms |= new
            self._pending += tuple(new)
            self._state = (self._state[0], self._pending)
            self._decoded = {}

    def unmaskable(self) -> list[str]:
        """References of values registered too short to be masked, in registration order."""
        with self._lock:
            return list(self._unmaskable)

    def _current(self) -> tuple[tuple[FormSet, ...], tuple[str, ...]]:
        if len(self._pending) > _PENDING_MAX:
            with self._lock:
                if len(self._pending) > _PENDING_MAX:
                    self._compile_pending()
        return self._state

    def _compile_pending(self) -> None:
        carry = set(self._pending)
        levels = list(self._state[0])
        while levels and len(levels[-1].forms) <= len(carry):
            carry |= levels.pop().forms
        levels.append(FormSet(carry))
        self._pending = ()
        self._state = (tuple(levels), ())

    def _plain_spans(self, text: str) -> Iterator[tuple[int, int]]:
        levels, pending = self._current()
        for level in levels:
            yield from level.spans(text)
        for form in pending:  # as a FormSet matches them: by key, then as far as they go
            at = FormSet.anchor(form)
            key = form[at : at + FormSet.KEY]
            found = text.find(key)
            while found != -1:
                yield _extent(text, found, at, form)
                found = text.find(key, found + 1)

    def _holds_secret(self, text: str) -> bool:
        return bool(text) and next(self._plain_spans(text), None) is not None

    def _spans(self, text: str) -> Iterator[tuple[int, int]]:
        yield from self._plain_spans(text)
        if not self._state[0] and not self._pending:
            return
        for run in _B64_RUN.finditer(text):
            encoded = run.group()
            # base64 of nine or more bytes mixes cases; words, paths and CONSTANTS do not
            if encoded.islower() or encoded.isupper():
                continue
            decoded = self._decoded
            holds = decoded.get(encoded)
            if holds is None:
                holds = self._holds_secret(_b64_text(encoded))
                if len(decoded) > _DECODED_MAX:
                    decoded.clear()
                decoded[encoded] = holds
            if holds:
                yield run.span()

    def scrub(self, text: str) -> str:
        if not text:
            return text
        spans = sorted(self._spans(text))
        if not spans:
            return text
        parts, done = [], 0
        start, end = spans[0]
        for next_start, next_end in spans[1:]:
            if next_start <= end:  # overlapping or touching: one mask
                end = max(end, next_end)
                continue
            parts += [text[done:start], MASK]
            done, start, end = end, next_start, next_end
        parts += [text[done:start], MASK, text[end:]]
        return "".join(parts)

    def scrub_cuts(self, text: str, cut: str = "...") -> str:
        """Mask what is left of a secret around each ``cut``: pytest shortens a long local of
        ``-l`` to its head and tail around ``...``, which can split a secret anywhere. The end
        of the head that starts a form, and the start of the tail that ends one, are masked
        (from ``_CUT_MIN`` characters on; :meth:`scrub` masks the rest)."""
        if cut not in text:
            return text
        with self._lock:
            forms = tuple(self._forms)
        parts = text.split(cut)
        for n in range(len(parts) - 1):
            ending = _cut_overlap(parts[n], forms, at_end=True)
            if ending:
                parts[n] = parts[n][: len(parts[n]) - ending] + MASK
            starting = _cut_overlap(parts[n + 1], forms, at_end=False)
            if starting:
                parts[n + 1] = MASK + parts[n + 1][starting:]
        return cut.join(parts)

    def contains_secret(self, text: str) -> bool:
        return bool(text) and next(self._spans(text), None) is not None

    def scrub_data(self, data: Any) -> Any:
        """Scrub every string inside JSON-like data (dicts, lists, tuples, strings), keys too.

        Reports are scrubbed field by field instead (see ``reporting.records``): this is for
        data without a schema of its own."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {self.scrub(str(k)): self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.scrub_data(v) for v in data]
        return data

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Values registered inside the block are forgotten when it ends. For test suites whose
        in-process runs (pytester) share this process: one run's secrets must not mask another
        run's output."""
        with self._lock:
            saved = (set(self._forms), self._pending, self._state)
            self._decoded = {}
            unmaskable = dict(self._unmaskable)
        try:
            yield
        finally:
            with self._lock:
                self._forms, self._pending, self._state = saved
                self._unmaskable, self._decoded = unmaskable, {}


# -- the forms of a value -----------------------------------------------------------------------


def derived_forms(value: str, *, case_variants: bool = False) -> set[str]:
    """The texts a secret value can appear as in output, each at least ``MIN_LENGTH`` long.

    The value (and stripped), its base64 (standard and URL-safe), URL-quoted forms, the way
    ``repr`` and JSON escape it (``\\\\``, ``\\'``, ``\\n``, also escaped twice), every line of a
    multi-line value (PEM armour excepted) and what a base64 value decodes to. A JSON object
    (a GCP key file) stands for its values instead, but for the public ones (``type``,
    ``client_email``, ``token_uri`` ..., URLs): masked whole, its public fields would be masked
    wherever they are written, and so would a key's ``"type": "service_account",`` line."""
    values = _json_secret_values(value)
    bases = {value, value.strip()} if values is None else set(values)
    if case_variants:
        bases |= {b.lower() for b in bases} | {b.upper() for b in bases}
    decoded = _maybe_base64(value)
    if decoded:
        bases.add(decoded)
    lines = {line for base in bases for line in _secret_lines(base)}
    forms: set[str] = set()
    for base in bases:
        forms.update(_encodings(base))
    for line in lines:  # a PEM line in a URL-quoted document has %2B for its "+"
        forms |= _escapes(line) | {quote(line, safe=""), quote(line)}
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _escapes(text: str) -> set[str]:
    forms = {text, repr(text)[1:-1], _repr_escape(text), json.dumps(text)[1:-1]}
    forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    for form in list(forms):  # a repr of a text with a repr in it
        forms |= {repr(form)[1:-1], _repr_escape(form)}
    return forms


def _repr_escape(text: str) -> str:
    """``repr`` of a text holding ``'`` and ``"`` alike: ``'`` escaped as ``\\'``."""
    return repr(text + "'\"")[1:-4]


def _encodings(text: str) -> set[str]:
    raw = text.encode()
    forms = _escapes(text)
    forms |= {quote(text, safe=""), quote(text), quote_plus(text)}
    if len(raw) < 9:  # longer ones make base64 runs that every scrub decodes
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms |= {encoded, encoded.rstrip("=")}  # JWTs and URLs drop the padding
    return forms


def _secret_lines(value: str) -> set[str]:
    """The lines of a multi-line value, except PEM armour (``-----BEGIN ...-----``), which is
    public boilerplate that our own messages quote. Lines shorter than ``MIN_LENGTH`` are left
    out later: masking those would mask every such text."""
    if "\n" not in value.strip():
        return set()
    lines = (line.strip() for line in value.splitlines())
    return {line for line in lines if line and not line.startswith("-----")}


def _maybe_base64(value: str) -> str | None:
    compact = "".join(value.split())
    if len(compact) < 16 or len(compact) % 4:
        return None
    try:
        decoded = base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None


#: Fields of a JSON key file that say what and whose it is, not the secret (GCP's).
PUBLIC_JSON_KEYS = frozenset(
    {
        "type",
        "project_id",
        "client_email",
        "client_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
        "quota_project_id",
    }
)


def _json_secret_values(value: str) -> list[str] | None:
    """The string values of a JSON object secret, however deep, but for the public fields and
    URLs; None when ``value`` is no JSON object."""
    if not value.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key not in PUBLIC_JSON_KEYS and "://" not in node[:12]:
            found.append(node)

    walk(data)
    return found


def _b64_text(run: str) -> str:
    """What a base64 run decodes to, as text (undecodable bytes replaced); "" if nothing."""
    data = run.rstrip("=").translate(_URLSAFE)
    data = data[: len(data) - len(data) % 4 if len(data) % 4 == 1 else len(data)]
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


#: The shortest piece of a cut secret that :meth:`Masker.scrub_cuts` masks.
_CUT_MIN = 6


def _cut_overlap(text: str, forms: Iterable[str], *, at_end: bool) -> int:
    """How many characters at the end of ``text`` (``at_end``) or at its start are a piece of a
    form cut there: a start of the form (or the whole of ``text`` inside one) at the end, an
    end of the form (or the whole of ``text``) at the start. The longest such piece of
    ``_CUT_MIN`` characters or more, else 0."""
    probe = text[-_CUT_MIN:] if at_end else text[:_CUT_MIN]
    if len(probe) < _CUT_MIN:
        return 0
    best = 0
    for form in forms:
        at = form.find(probe)
        while at != -1:
            if at_end:  # compare backwards from the end of the probe
                span = _common_suffix(text, form[: at + _CUT_MIN])
                whole = span in (at + _CUT_MIN, len(text))
            else:
                span = _common_prefix(text, 0, form[at:])
                whole = span in (len(form) - at, len(text))
            if whole and span > best:
                best = span
            at = form.find(probe, at + 1)
    return best


def _common_suffix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        length += 1
    return length


def _common_prefix(text: str, start: int, form: str) -> int:
    if text.startswith(form, start):
        return len(form)
    length = 0
    for a, b in zip(text[start : start + len(form)], form, strict=False):
        if a != b:
            break
        length += 1
    return length


# -- one pattern for every form -----------------------------------------------------------------


def compile_forms(forms: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching every form, leftmost then longest (a trie: at each
    position the engine follows one branch per character instead of trying every form)."""
    words = sorted(set(forms))
    if not words:
        return None
    try:
        return re.compile(_trie_regex(words))
    except (RecursionError, re.error):  # absurdly nested tries: a plain alternation
        return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


_END = ""


def _trie_regex(words: list[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = None
    return _render(trie)


#: Characters by how often they occur in output (English text, paths, JSON). The engine tries a
#: node's branches in order, and only one can match: the common ones first keep scans short.
_FREQUENT = " etaoinsrhldcumfpgwybvkxjqz_-./:0123456789ETAOINSRHLDCUMFPGWYBVKXJQZ\"',=@"
_RANK = {char: rank for rank, char in enumerate(_FREQUENT)}


def _render(node: dict[str, Any]) -> str:
    branches = []
    for char in sorted((k for k in node if k), key=lambda c: (_RANK.get(c, len(_RANK)), c)):
        child, literal = node[char], [char]
        while len(child) == 1 and _END not in child:  # a chain of single children: one literal
            ((char, child),) = child.items()
            literal.append(char)
        branches.append(re.escape("".join(literal)) + _render(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body  # greedy: the longer form first


# -- credentials in URLs ------------------------------------------------------------------------

_USERINFO = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``: safe to quote in a message."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url, count=1)


def url_credentials(url: str) -> tuple[str | None, str | None]:
    """The user and password of ``scheme://user:password@host`` as written (still quoted)."""
    match = _USERINFO.match(url)
    if match is None:
        return None, None
    # as urlsplit reads it: the userinfo ends at the last "@", the user at its first ":"
    user, colon, password = match.group(2).partition(":")
    return user or None, password if colon else None


def register_url_credentials(url: str, reference: str | None = None) -> None:
    """Mask the credentials written into ``url``: the password (as written and unquoted), or
    the user when there is no password (``https://TOKEN@host``: the user is the token).
    ``reference`` (the connector and field) names a value too short to mask."""
    user, password = url_credentials(url)
    secret, what = (password, "password") if password else (user, "user")
    if not secret:
        return
    MASKER.add(unquote(secret), f"{reference} ({what} in the URL)" if reference else None)
    MASKER.add(secret)


MASKER = Masker()
