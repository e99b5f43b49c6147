"""Error text of Go's encoding/json Decoder for the first JSON value of a file.

dockerd 20.10 decodes daemon.json with ``json.NewDecoder(r).Decode(&map)``
(moby/moby v20.10.24 daemon/config/config.go getConflictFreeConfiguration), so:
an empty file is "EOF", a truncated one "unexpected EOF", anything after the
first complete value is *not* read (no error), and syntax errors use the scanner's
wording (Go 1.19 src/encoding/json/scanner.go). Returns None when the text is fine.
"""

from __future__ import annotations

from .common import go_quote

_WS = " \t\r\n"


class _Syntax(Exception):
    pass


class _EOF(Exception):
    pass


def _quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    return "'" + go_quote(c)[1:-1] + "'"


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        if self.i >= len(self.s):
            raise _EOF
        return self.s[self.i]

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in _WS:
            self.i += 1

    def fail(self, c: str, context: str) -> None:
        raise _Syntax(f"invalid character {_quote_char(c)} {context}")

    def value(self) -> None:
        self.skip_ws()
        c = self.peek()
        if c == "{":
            self.i += 1
            self.obj()
        elif c == "[":
            self.i += 1
            self.arr()
        elif c == '"':
            self.i += 1
            self.string()
        elif c == "-" or c.isdigit():
            self.number()
        elif c in "tfn":
            word = {"t": "true", "f": "false", "n": "null"}[c]
            for k, expect in enumerate(word):
                got = self.peek()
                if got != expect:
                    self.fail(got, f"in literal {word} (expecting {_quote_char(expect)})")
                self.i += 1
                del k
        else:
            self.fail(c, "looking for beginning of value")

    def obj(self) -> None:
        self.skip_ws()
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            self.skip_ws()
            c = self.peek()
            if c != '"':
                self.fail(c, "looking for beginning of object key string")
            self.i += 1
            self.string()
            self.skip_ws()
            c = self.peek()
            if c != ":":
                self.fail(c, "after object key")
            self.i += 1
            self.value()
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return
            if c != ",":
                self.fail(c, "after object key:value pair")

    def arr(self) -> None:
        self.skip_ws()
        if self.peek() == "]":
            self.i += 1
            return
        while True:
            self.value()
            self.skip_ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return
            if c != ",":
                self.fail(c, "after array element")

    def string(self) -> None:
        while True:
            c = self.peek()
            self.i += 1
            if c == '"':
                return
            if c == "\\":
                e = self.peek()
                self.i += 1
                if e == "u":
                    for _ in range(4):
                        h = self.peek()
                        if h not in "0123456789abcdefABCDEF":
                            self.fail(h, "in \\u hexadecimal character escape")
                        self.i += 1
                elif e not in '"\\/bfnrt':
                    self.fail(e, "in string escape code")
            elif ord(c) < 0x20:
                self.fail(c, "in string literal")

    def number(self) -> None:
        if self.peek() == "-":
            self.i += 1
            c = self.peek()
            if not c.isdigit():
                self.fail(c, "in numeric literal")
        if self.peek() == "0":
            self.i += 1
        else:
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
        if self.i < len(self.s) and self.s[self.i] == ".":
            self.i += 1
            c = self.peek()
            if not c.isdigit():
                self.fail(c, "after decimal point in numeric literal")
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
        if self.i < len(self.s) and self.s[self.i] in "eE":
            self.i += 1
            if self.peek() in "+-":
                self.i += 1
            c = self.peek()
            if not c.isdigit():
                self.fail(c, "in exponent of numeric literal")
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1


def decode_error(text: str) -> str | None:
    """Go Decoder.Decode's error text for the first value in ``text``, or None."""
    sc = _Scanner(text)
    sc.skip_ws()
    if sc.i >= len(text):
        return "EOF"
    try:
        sc.value()
    except _EOF:
        return "unexpected EOF"
    except _Syntax as exc:
        return str(exc)
    return None


def first_value_end(text: str) -> int:
    """Offset just past the first JSON value (only valid when decode_error is None)."""
    sc = _Scanner(text)
    sc.value()
    return sc.i
