"""The one place secrets are masked.

(Over 500 lines on purpose: the patterns and the redactor must be read together to see
that nothing slips between them. The set of literal values they mask is
:mod:`regdoctor.redact.literals`.)

Every string that leaves the process (all renderers, logs, support bundles) goes through
:func:`redact`, or through a :class:`Redactor` that also knows the literal secrets of this
run (a password read from stdin, a token from a credential helper).

What :func:`redact` masks, always replacing the secret part with ``****``:

- ``Authorization:`` / ``Proxy-Authorization:`` header values (the scheme word is kept:
  ``Authorization: Bearer ****``), also as JSON keys;
- ``Bearer <token>`` and ``Basic <base64 of user:password>`` anywhere in text (``Basic``
  only when the value really decodes to ``user:password``, so the Docker error
  ``no basic auth credentials`` is left alone);
- JWT-looking strings (``eyJ...`` header, payload and signature separated by dots);
- the password of ``scheme://user:password@host`` URLs (the user name is kept);
- query strings of URLs that carry a signature or a token (``X-Amz-Signature``, ``sig``,
  ``token``, ``X-Goog-Signature``...): the path and parameter names are kept, every value
  is replaced; and sensitive parameters (``token=``, ``password=``...) wherever they
  appear after ``?`` or ``&``;
- JSON (or Python-repr) pairs whose key names a secret: ``"password"``, ``"auth"``,
  ``"token"``, ``"access_token"``, ``"refresh_token"``, ``"identitytoken"``...

:func:`redact_obj` walks dicts, lists and tuples, redacts every string, and masks the value
of any key that names a secret (``{"password": "x"}`` -> ``{"password": "****"}``).

Limits: a literal secret that occurs only inside the mask itself (``*``, ``**``) cannot be
hidden and is ignored; so are empty and whitespace-only values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from regdoctor.model import Secret
from regdoctor.redact.literals import MASK, MIN_LINE_FRAGMENT, SecretSet, _hideable

__all__ = [
    "MASK",
    "MIN_LINE_FRAGMENT",
    "SENSITIVE_KEYS",
    "Redactor",
    "SecretSet",
    "learned",
    "mask_literals",
    "redact",
    "redact_obj",
    "remember",
    "walk_obj",
]


#: Keys whose value is a secret, wherever they occur (JSON text, dicts, query strings).
#: Compared case-insensitively, and exactly: ``token_kind`` or ``auth_scheme`` are not secrets.
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "identitytoken",
        "registrytoken",
        "auth",
        "authorization",
        "proxy-authorization",
        "x-registry-auth",
    }
)

#: Query parameters that carry a signature, a token or a password. A URL that has one of
#: them gets *all* its query values masked (a signed URL's other parameters, such as
#: ``X-Amz-Credential``, are part of the signature and often identify the key).
_QUERY_SECRET_PARAMS = (
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "googleaccessid",
    "signature",
    "sig",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
    "passwd",
    "client_secret",
    "secret",
    "api_key",
    "apikey",
    "code",
)

# -- patterns ------------------------------------------------------------------------------
#
# Each pattern is compiled the first time a text could match it (see _Pattern): a short
# text needs few of them, and a command such as ``regdoctor explain`` starts without
# compiling the rest.


class _Pattern:
    """A regex compiled on first use, with the lower-case words a match must contain
    (``needs``: every group has one of its words in the text), so that a text without
    them skips the pattern (and its compilation) altogether."""

    __slots__ = ("_compiled", "flags", "needs", "source")

    def __init__(self, source: str, flags: int = 0, *needs: tuple[str, ...]) -> None:
        self.source = source
        self.flags = flags
        self.needs = needs
        self._compiled: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source, self.flags)
        return compiled

    def wanted(self, lowered: str | None) -> bool:
        """Whether the text may hold a match (``lowered``: the text, lower-cased, when it
        is ASCII; ``None``: other text, which Unicode case folding may match (the long s,
        the Kelvin sign), so every pattern is tried)."""
        if lowered is None:
            return True
        return all(any(word in lowered for word in group) for group in self.needs)

    def search(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text)

    def sub(self, repl: Any, text: str) -> str:
        return self.regex.sub(repl, text)


_QUERY_KEYS_ALT = "|".join(
    re.escape(k) for k in sorted(_QUERY_SECRET_PARAMS, key=len, reverse=True)
)

# A value that is a placeholder or a variable, not a secret: <password>, $TOKEN, ${TOKEN},
# $(cat file), %PASSWORD%. Rule texts and remediation commands are full of them, and they
# go through redaction like everything else.
_NOT_PLACEHOLDER = (
    r"(?!<[\w .:/-]*>(?=$|[\s\"',;&@\]]))"
    r"(?!\$\{?[A-Za-z_]\w*\}?(?=$|[\s\"',;&@:/\]\\]))"
    r"(?!\$\()"
    r"(?!%[A-Za-z_]\w*%)"
)

# Authorization: <scheme> <credentials>  (header lines, JSON/Python dict keys, Go maps),
# also JSON-escaped once or more (\"Authorization\": \"Bearer ...\" inside a JSON string):
# the value stops before the backslashes that escape its closing quote.
_AUTH_HEADER = _Pattern(
    r"(?P<key>\b(?:proxy-)?authorization)"
    r"(?P<sep>(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\\*[\[\"'])*[ \t]*)"
    r"(?P<scheme>(?:bearer|basic|digest|token|negotiate|ntlm|aws4-hmac-sha256|jwt)"
    r"(?:[ \t]+|(?=\\*[\"'\]\r\n]|$)))?"
    rf"(?P<value>(?:{_NOT_PLACEHOLDER}(?:[^\s\"'\]\r\n,;\\]|\\+(?![\"'\\]))"
    r"(?:[^\"'\]\r\n\\]|\\+(?![\"'\\]))*)?)",
    re.IGNORECASE,
    ("authorization",),
    (":", "="),
)

# Bearer <token>: the token must look like one (a digit in it, or long), and must not be
# an auth-param of a WWW-Authenticate challenge (Bearer realm="..."). It may end at the
# backslash of an escaped quote (inside a JSON string).
_BEARER = _Pattern(
    r"(?P<scheme>\bbearer\s+)"
    r"(?!(?:realm|service|scope|error|error_description|error_uri|charset)\s*=)"
    r"(?P<token>[A-Za-z0-9\-._~+/]{8,}=*)"
    r"(?=$|[\s\"',;)\]}>\\])",
    re.IGNORECASE,
    ("bearer",),
)

# Basic <base64>: masked only when it decodes to "user:password".
_BASIC = _Pattern(
    r"(?P<scheme>\bbasic\s+)(?P<token>[A-Za-z0-9+/]{4,}={0,2})(?=$|[^A-Za-z0-9+/=])",
    re.IGNORECASE,
    ("basic",),
)

_JWT = _Pattern(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", 0, ("eyj",))

# scheme://user:password@host
_URL_USERINFO = _Pattern(
    r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^\s/:@\"'<>]*:)"
    rf"{_NOT_PLACEHOLDER}(?P<password>[^\s/@\"'<>]*)@",
    0,
    ("://",),
    ("@",),
)

# scheme://host/path?query  (the query is masked when it carries a secret parameter)
_URL_QUERY = _Pattern(
    r"(?P<base>\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^\s?#\"'<>]*)\?(?P<query>[^\s#\"'<>]*)",
    0,
    ("://",),
    ("?",),
)
_QUERY_HAS_SECRET = _Pattern(rf"(?:^|[&;])(?:{_QUERY_KEYS_ALT})=", re.IGNORECASE)
_QUERY_VALUE = _Pattern(r"(?P<key>(?:^|[&;])[^=&;]*=)(?P<value>[^&;]*)")

# ?token=... / &password=... anywhere (relative URLs, log lines)
_QUERY_PARAM = _Pattern(
    rf"(?P<key>[?&;](?:{_QUERY_KEYS_ALT})=)(?P<value>[^&;#\s\"'<>]+)",
    re.IGNORECASE,
    ("=",),
    ("?", "&", ";"),
)

# password=... / --password=... / --docker-password=... / client_secret=... in command
# lines and key=value text. Placeholders and variables (<password>, $PASS, ${X}, %X%)
# are left alone: remediation commands are full of them. A quoted value is masked inside
# its quotes, also when they are JSON-escaped, once or more (\"...\", \\\"...\\\").
_CRED_NAMES = r"(?:docker[_-])?(?:password|passwd|client[_-]secret|registry[_-]?password)"
_CRED_WORDS = ("passw", "secret")  # every _CRED_NAMES holds one
_ASSIGNMENT = _Pattern(
    rf"(?P<key>(?<![\w-])(?:--?)?{_CRED_NAMES}[ \t]*=[ \t]*(?:\\*[\"'])?)"
    rf"{_NOT_PLACEHOLDER}(?P<value>(?:[^\s&\"',;\\]|\\+(?![\"'\\]))+)",
    re.IGNORECASE,
    ("=",),
    _CRED_WORDS,
)
# --password VALUE, --creds user:VALUE (docker/podman/skopeo/nerdctl command lines)
_OPTION = _Pattern(
    rf"(?P<key>(?<![\w-])--{_CRED_NAMES}[ \t]+(?:\\*[\"'])?)(?!-){_NOT_PLACEHOLDER}"
    r"(?P<value>(?:[^\s\"'\\]|\\+(?![\"'\\]))+)",
    re.IGNORECASE,
    ("--",),
    _CRED_WORDS,
)
_CREDS = _Pattern(
    r"(?P<key>(?<![\w-])--(?:src-|dest-)?creds[= \t]+[\"']?[^:\s\"']*:)"
    rf"{_NOT_PLACEHOLDER}(?P<value>[^\s\"']+)",
    re.IGNORECASE,
    ("--",),
    ("creds",),
)

_JSON_KEYS_ALT = (
    "password|passwd|secret|client_secret|token|access_token|refresh_token|id_token"
    "|identitytoken|identity_token|registrytoken|registry_token"
)
_JSON_KEY_WORDS = ("passw", "secret", "token")  # every _JSON_KEYS_ALT holds one
# "password": "..."  (also with single quotes, as in Python reprs)
_JSON_SECRET_DQ = _Pattern(
    rf"(?P<key>\"(?:{_JSON_KEYS_ALT})\"\s*:\s*\"){_NOT_PLACEHOLDER}(?P<value>(?:[^\"\\\r\n]|\\.)+)(?=\")",
    re.IGNORECASE,
    (":",),
    ('"',),
    _JSON_KEY_WORDS,
)
_JSON_SECRET_SQ = _Pattern(
    rf"(?P<key>'(?:{_JSON_KEYS_ALT})'\s*:\s*'){_NOT_PLACEHOLDER}(?P<value>(?:[^'\\\r\n]|\\.)+)(?=')",
    re.IGNORECASE,
    (":",),
    ("'",),
    _JSON_KEY_WORDS,
)
# \"password\": \"...\"  (JSON inside a JSON or Go string), escaped any number of times
# (\\\"password\\\": \\\"...\\\" is JSON inside a JSON string inside a JSON string): the
# quotes of one document level carry the same run of backslashes (``esc``), and the value
# ends at the first quote escaped exactly as its opening one (a quote inside the value
# carries more backslashes).
_JSON_SECRET_ESCAPED = _Pattern(
    rf"(?P<key>(?<!\\)(?P<esc>\\+)\"(?:{_JSON_KEYS_ALT})(?P=esc)\"\s*:\s*(?P=esc)\")"
    r"(?!(?P=esc)\")(?P<value>[^\r\n]+?)(?=(?<!\\)(?P=esc)\")",
    re.IGNORECASE,
    (":",),
    ("\\",),
    _JSON_KEY_WORDS,
)
# "auth": "<base64>" (docker config.json), also JSON-escaped (\"auth\": \"...\")
_JSON_AUTH = _Pattern(
    r"(?P<key>(?<!\\)(?P<esc>\\*)[\"']auth(?P=esc)[\"']\s*:\s*(?P=esc)[\"'])"
    r"(?P<value>[A-Za-z0-9+/=_\-]+)(?=(?P=esc)[\"'])",
    re.IGNORECASE,
    (":",),
    ('auth"', "auth'", "auth\\"),
)


def _sub_auth_header(m: re.Match[str]) -> str:
    if not m.group("value"):
        return m.group(0)
    return f"{m.group('key')}{m.group('sep')}{m.group('scheme') or ''}{MASK}"


def _sub_bearer(m: re.Match[str]) -> str:
    token = m.group("token")
    core = token.rstrip(".")
    looks_like_token = len(core) >= 24 or any(c.isdigit() or c in "-_~+/=." for c in core)
    if len(core) < 8 or not looks_like_token:
        # "Bearer authentication." in prose is no token.
        return m.group(0)
    return f"{m.group('scheme')}{MASK}"


def _sub_basic(m: re.Match[str]) -> str:
    import base64
    import binascii

    token = m.group("token")
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return m.group(0)
    if b":" not in decoded:
        return m.group(0)
    return f"{m.group('scheme')}{MASK}"


def _sub_url_query(m: re.Match[str]) -> str:
    query = m.group("query")
    if not _QUERY_HAS_SECRET.search(query):
        return m.group(0)
    masked = _QUERY_VALUE.sub(lambda q: q.group("key") + (MASK if q.group("value") else ""), query)
    return f"{m.group('base')}?{masked}"


_mask_password = r"\g<prefix>" + MASK + "@"
_mask_value = r"\g<key>" + MASK

#: (pattern, replacement) in the order they are applied.
_RULES: tuple[tuple[_Pattern, Any], ...] = (
    (_AUTH_HEADER, _sub_auth_header),
    (_JWT, MASK),
    (_BEARER, _sub_bearer),
    (_BASIC, _sub_basic),
    (_URL_USERINFO, _mask_password),
    (_URL_QUERY, _sub_url_query),
    (_QUERY_PARAM, _mask_value),
    (_ASSIGNMENT, _mask_value),
    (_OPTION, _mask_value),
    (_CREDS, _mask_value),
    (_JSON_SECRET_ESCAPED, _mask_value),
    (_JSON_SECRET_DQ, _mask_value),
    (_JSON_SECRET_SQ, _mask_value),
    (_JSON_AUTH, _mask_value),
)

# A cheap pre-filter: text without any of these substrings cannot match any rule.
_TRIGGERS = re.compile(
    r"auth|bearer|basic|eyJ|://|[?&;][\w-]+=|passw|secret|token|creds",
    re.IGNORECASE,
)


def _apply_rules(text: str) -> str:
    """Every pattern of :data:`_RULES` whose words the text holds, in order. (A
    replacement only inserts the mask, which holds none of the words: the words are
    looked up once.)"""
    lowered = text.lower() if text.isascii() else None
    for pattern, repl in _RULES:
        if pattern.wanted(lowered):
            text = pattern.sub(repl, text)
    return text


def prepare() -> None:
    """Compile every pattern now (a few ms), ahead of the first text that needs them:
    a run does this while its first requests are in flight (net/idle.py)."""
    for pattern, _repl in _RULES:
        _ = pattern.regex
    for pattern in (_QUERY_HAS_SECRET, _QUERY_VALUE):  # a URL query's, once one is there
        _ = pattern.regex


def redact(text: str) -> str:
    """Mask the secrets :mod:`regdoctor.redact.secrets` knows how to recognise in ``text``, and
    the values learned during this run (see :func:`remember`)."""
    if not text:
        return text
    text = _LEARNED.mask(text)
    if not _TRIGGERS.search(text):
        return text
    return _apply_rules(text)


#: :data:`_TRIGGERS` as lower-case words and one regex, for :func:`_trigger_starts`.
_TRIGGER_WORDS = ("auth", "bearer", "basic", "eyj", "://", "passw", "secret", "token", "creds")
_QUERY_TRIGGER = re.compile(r"[?&;][\w-]+=")


def _trigger_starts(text: str) -> list[int]:
    """Where the :data:`_TRIGGERS` words occur in ``text``, sorted. For ASCII text (any
    JSON document ``json.dumps`` writes) with ``str.find`` on the lower-cased text and a
    regex with a literal first character: about 30 times faster on half a megabyte than
    the case-insensitive alternation, which the regex engine tries at every position.
    Other text goes through :data:`_TRIGGERS` itself (Unicode case folding: the long s,
    the Kelvin sign)."""
    if not text.isascii():
        return [m.start() for m in _TRIGGERS.finditer(text)]
    lowered = text.lower()
    starts = [m.start() for m in _QUERY_TRIGGER.finditer(text)]
    for word in _TRIGGER_WORDS:
        at = lowered.find(word)
        while at >= 0:
            starts.append(at)
            at = lowered.find(word, at + 1)
    return sorted(starts)


def redact_lines(text: str, redactor: Redactor | None = None) -> str:
    """``redactor.redact(text)`` (or :func:`redact`) for a large text of many short lines,
    such as an indented JSON document, in which no secret spans a line break.

    The result is the same, because every pattern match holds one of the trigger words
    (the premise of :func:`redact`'s own pre-filter) and lies within one line; but the
    patterns run only on the lines that hold a trigger word, instead of a dozen passes
    over the whole text (a tag scan's 2,000-tag document: one line in a thousand).
    """
    if not text:
        return text
    literals = redactor._mask_literals if redactor is not None else None
    if literals is not None:
        text = literals(text)
    text = _LEARNED.mask(text)
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    for at in _trigger_starts(text):
        if at < done:
            continue  # on a line already redacted
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        line = _apply_rules(text[start:end])
        parts += [text[done:start], line]
        done = end
    if parts:
        text = "".join(parts) + text[done:]
    return literals(text) if literals is not None else text


#: Shortest value :func:`remember` accepts: a short one would mask ordinary words.
MIN_LEARNED = 16


def _looks_like_a_token(value: str) -> bool:
    """Long, without spaces, and mixing character classes: a hostile token server must
    not be able to blank out ordinary words of the report by issuing them as tokens."""
    if len(value) < MIN_LEARNED or any(c.isspace() for c in value):
        return False
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
    return classes >= 2


def remember(secret: str | Any) -> None:
    """Register a secret the process learned while running (a token a token server
    issued): from now on :func:`redact` masks it literally wherever it appears, also
    when a server echoes it back bare (without the ``Bearer`` that the patterns
    recognise). Surrounding whitespace (a token that ends with a newline) is not part of
    the value. Only values that look like tokens are kept (see
    :func:`_looks_like_a_token`); the password given by the user goes to the CLI's
    :class:`Redactor` instead.

    The learned values live in a bounded registry (:data:`LEARNED_BUDGET_BYTES`, least
    recently used first out): a process that runs for weeks against a token server
    that issues a fresh token per request keeps a constant memory and a constant cost
    per redaction. Tokens are also masked by pattern (``Bearer``, JWTs), so an evicted
    old token is still hidden wherever it looks like one."""
    value = secret.reveal() if hasattr(secret, "reveal") else secret
    if not isinstance(value, str):
        return
    value = value.strip()
    if _looks_like_a_token(value):
        _LEARNED.add(value)


def learned() -> SecretSet:
    """The registry :func:`remember` fills (for tests and benchmarks)."""
    return _LEARNED


def _is_sensitive_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS


def _walk(obj: Any, redact_str: Any) -> Any:
    if isinstance(obj, str):
        return redact_str(obj)
    if isinstance(obj, Secret):
        return MASK
    if isinstance(obj, Mapping):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            new_key = redact_str(key) if isinstance(key, str) else key
            if _is_sensitive_key(key) and isinstance(value, str | Secret) and value:
                out[new_key] = MASK
            else:
                out[new_key] = _walk(value, redact_str)
        return out
    if isinstance(obj, list):
        return [_walk(v, redact_str) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(v, redact_str) for v in obj)
    return obj


def redact_obj(obj: Any) -> Any:
    """Return a copy of ``obj`` (dicts, lists, tuples, strings...) with secrets masked.

    Every string (values and string keys) goes through :func:`redact`; the value of a key
    that names a secret (:data:`SENSITIVE_KEYS`) is replaced by the mask; a
    :class:`regdoctor.model.Secret` becomes the mask. Other values are returned as is.
    """
    return _walk(obj, _once_each(redact))


def _once_each(redact_str: Callable[[str], str]) -> Callable[[str], str]:
    """``redact_str`` that redacts each distinct string once (for one walk, during which
    the registered secrets do not change): a report repeats its keys and many values
    (a check's JSON: ~1,100 strings, ~290 distinct)."""
    done: dict[str, str] = {}

    def redact_once(text: str) -> str:
        out = done.get(text)
        if out is None:
            out = done[text] = redact_str(text)
        return out

    return redact_once


def walk_obj(obj: Any, redact_str: Callable[[str], str]) -> Any:
    """:func:`redact_obj` with the caller's redaction of each string (for example one
    that redacts each distinct string of a large document once)."""
    return _walk(obj, redact_str)


def mask_literals(text: str, redactor: Redactor | None = None) -> str:
    """Only the literal values: those :func:`remember` learned and ``redactor``'s, not
    what the patterns recognise. For a value that is an identifier of a known grammar (a
    registry's tag name), which the patterns could only mangle (a tag may look like a
    JWT), but which a hostile server could still set to a secret it was sent."""
    if not text:
        return text
    if redactor is not None:
        text = redactor._mask_literals(text)
    return _LEARNED.mask(text)


#: Default bound of a :class:`SecretSet` (bytes of registered forms). A run's own
#: credentials are a few hundred bytes; tokens a few KB each.
LEARNED_BUDGET_BYTES = 1024 * 1024


class Redactor:
    """:func:`redact` plus the literal secret values of this run.

    >>> r = Redactor(["hunter2"])
    >>> r.redact("login with hunter2 failed")
    'login with **** failed'

    Each registered value is also masked in its URL-encoded and JSON-escaped forms;
    :meth:`add_credentials` also registers the base64 ``user:password`` pair that Docker
    stores in ``config.json``. Values that are empty, blank, or made only of ``*`` are
    ignored (they cannot be told apart from the mask). Registering costs O(len(value));
    the matcher is rebuilt at most once per change (:class:`SecretSet`).
    """

    __slots__ = ("_set",)

    def __init__(
        self, secrets: Iterable[str | Any] = (), *, budget_bytes: int | None = None
    ) -> None:
        self._set = SecretSet(budget_bytes)
        for secret in secrets:
            self.add(secret)

    def __repr__(self) -> str:
        return f"Redactor({len(self._set)} secrets)"

    def __len__(self) -> int:
        return len(self._set)

    @property
    def _secrets(self) -> list[str]:
        """The registered forms (for a redactor that copies another one's)."""
        return list(self._set)

    def add(self, secret: str | Any, *, variants: bool = True) -> None:
        """Register a literal secret (a ``str`` or a :class:`regdoctor.model.Secret`)."""
        value = secret.reveal() if hasattr(secret, "reveal") else secret
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str or a Secret, not {type(value).__name__}")
        if not _hideable(value):
            return
        forms = {value, value.strip()}
        if variants:
            import json
            import urllib.parse

            for form in (value, value.strip()):
                forms.add(urllib.parse.quote(form, safe=""))
                forms.add(urllib.parse.quote_plus(form, safe=""))
                forms.add(json.dumps(form)[1:-1])
                forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
        for form in forms:
            self._set.add(form)

    def add_credentials(self, username: str, password: str | Any) -> None:
        """Register a password and the base64 ``username:password`` pair built from it."""
        import base64

        value = password.reveal() if hasattr(password, "reveal") else password
        self.add(value)
        if isinstance(value, str) and _hideable(value):
            for secret in {value, value.strip()}:
                pair = f"{username}:{secret}".encode()
                self.add(base64.b64encode(pair).decode("ascii"), variants=False)
                self.add(base64.urlsafe_b64encode(pair).decode("ascii"), variants=False)

    def _mask_literals(self, text: str) -> str:
        return self._set.mask(text)

    def redact(self, text: str) -> str:
        """Mask the registered values, then everything :func:`redact` recognises."""
        if not text:
            return text
        text = self._mask_literals(text)
        text = redact(text)
        # Pattern masking only inserts the mask, which cannot create a registered value
        # without a '*' in it; the second pass covers those.
        return self._mask_literals(text)

    __call__ = redact

    def redact_obj(self, obj: Any) -> Any:
        """Like :func:`redact_obj`, also masking the registered values."""
        return _walk(obj, _once_each(self.redact))


#: The values :func:`remember` registered: one bounded registry per process (a run, or
#: a ``serve`` that runs for weeks), least recently used first out.
_LEARNED = SecretSet(LEARNED_BUDGET_BYTES)
