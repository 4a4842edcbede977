"""The tokenizer for search filters and order_by clauses, and the syntax error it raises.

Lexical rules:

* Names are words of ASCII letters, digits and `_` (not starting with a digit), or parts
  quoted in backticks or double quotes, joined by `.` with no spaces: `metrics.acc`,
  ``params.`lr.decay` ``, `tags."my tag"`. A lone double-quoted part is returned as a string
  token; the parser reads it as a name where a name is expected.
* Strings are quoted with `'` or `"`. Inside, the quote character is written twice
  (`'it''s'` is `it's`); a backslash is an ordinary character. Backticked names escape a
  backtick the same way.
* Numbers are decimal, with an optional leading `-`, fraction and exponent
  (`3`, `-0.5`, `.5`, `1e-3`); `nan` and `inf` are words, not numbers.
* Operators are `= != < <= > >=`; punctuation is `( ) ,`. Anything else is an error.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import Enum

from cairn.errors import InvalidArgument

_WORD_START = frozenset(string.ascii_letters + "_")
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_DIGITS = frozenset(string.digits)
_NAME_QUOTES = frozenset('`"')
_SHOWN_CHARS = 40


def shorten(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Return `text`, cut to `limit` characters with an ellipsis, for error messages."""
    return text if len(text) <= limit else text[:limit] + "..."


class SearchSyntaxError(InvalidArgument):
    """A filter or order_by clause is not well formed.

    Attributes:
        position: The 0-based character offset of the offending token.
        near: The offending token's source text, or None at the end of the input.
    """

    def __init__(self, where: str, position: int, near: str | None, reason: str) -> None:
        shown = "end of input" if near is None else repr(shorten(near))
        super().__init__(f"Invalid {where} at position {position} near {shown}: {reason}")
        self.position = position
        self.near = near


class TokenKind(Enum):
    """The lexical category of a token."""

    WORD = "word"
    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    END = "end"


@dataclass(frozen=True)
class NamePart:
    """One dot-separated part of a name, with quotes removed."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Token:
    """One token.

    Attributes:
        kind: Its lexical category.
        text: The exact source text (empty for END).
        position: The 0-based offset of its first character.
        value: Words, operators and numbers as written; strings without quotes or escapes.
        parts: The parts of a WORD, NAME or double-quoted STRING.
        quote: The quote character of a STRING.
    """

    kind: TokenKind
    text: str
    position: int
    value: str = ""
    parts: tuple[NamePart, ...] = ()
    quote: str = ""


def tokenize(source: str, where: str) -> list[Token]:
    """Split `source` into tokens ending with one END token.

    Args:
        source: The filter or order_by text.
        where: What is being read ("filter", "order_by 'x'"), for error messages.

    Raises:
        SearchSyntaxError: naming the position and text of the first bad character.
    """
    return _Scanner(source, where).run()


class _Scanner:
    """A cursor over the source text that emits tokens."""

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where
        self.pos = 0

    def run(self) -> list[Token]:
        tokens: list[Token] = []
        while True:
            while self.pos < len(self.source) and self.source[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(self.source):
                tokens.append(Token(TokenKind.END, "", self.pos))
                return tokens
            tokens.append(self._token())

    def _char(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.source[index] if index < len(self.source) else ""

    def _error(self, position: int, near: str | None, reason: str) -> SearchSyntaxError:
        return SearchSyntaxError(self.where, position, near, reason)

    def _token(self) -> Token:
        char = self._char()
        if char in "(),":
            self.pos += 1
            return Token(TokenKind(char), char, self.pos - 1, char)
        if char in "=!<>":
            return self._operator()
        if self._at_number():
            return self._number()
        if char in _WORD_START or char in _NAME_QUOTES:
            return self._name()
        if char == "'":
            start = self.pos
            value = self._quoted("'", "string")
            return Token(TokenKind.STRING, self.source[start : self.pos], start, value, quote="'")
        if char == ";":
            raise self._error(self.pos, char, "';' is not allowed: a filter is a single expression")
        raise self._error(self.pos, char, "unexpected character")

    def _operator(self) -> Token:
        start = self.pos
        char = self._char()
        if self._char(1) == "=" and char in "!<>":
            self.pos += 2
        elif char == "!":
            raise self._error(start, self.source[start : start + 2], "'!' must be followed by '='")
        else:
            self.pos += 1
        text = self.source[start : self.pos]
        return Token(TokenKind.OPERATOR, text, start, text)

    def _at_number(self) -> bool:
        char = self._char()
        if char == "-":
            return self._char(1) in _DIGITS or (self._char(1) == "." and self._char(2) in _DIGITS)
        if char == ".":
            return self._char(1) in _DIGITS
        return char in _DIGITS

    def _digits(self) -> int:
        start = self.pos
        while self._char() in _DIGITS:
            self.pos += 1
        return self.pos - start

    def _number(self) -> Token:
        start = self.pos
        if self._char() == "-":
            self.pos += 1
        self._digits()
        if self._char() == ".":
            self.pos += 1
            self._digits()
        if self._char() and self._char() in "eE":
            self.pos += 1
            if self._char() and self._char() in "+-":
                self.pos += 1
            if not self._digits():
                raise self._error(start, self.source[start : self.pos + 1], "malformed number exponent")
        follower = self._char()
        if follower and (follower in _WORD_CHARS or follower in ".`'\""):
            raise self._error(start, self.source[start : self.pos + 1], "malformed number")
        text = self.source[start : self.pos]
        return Token(TokenKind.NUMBER, text, start, text)

    def _name(self) -> Token:
        start = self.pos
        parts = [self._part()]
        while self._char() == ".":
            self.pos += 1
            char = self._char()
            if not char or (char not in _WORD_CHARS and char not in _NAME_QUOTES):
                raise self._error(self.pos, char or None, "expected a name part after '.'")
            parts.append(self._part())
        text = self.source[start : self.pos]
        if len(parts) == 1 and not parts[0].quoted:
            return Token(TokenKind.WORD, text, start, text, tuple(parts))
        if len(parts) == 1 and text.startswith('"'):
            return Token(TokenKind.STRING, text, start, parts[0].text, tuple(parts), quote='"')
        return Token(TokenKind.NAME, text, start, text, tuple(parts))

    def _part(self) -> NamePart:
        """Read one name part; the caller has checked that one starts here."""
        char = self._char()
        if char in _NAME_QUOTES:
            return NamePart(self._quoted(char, "quoted name" if char == "`" else "string"), quoted=True)
        start = self.pos
        while self._char() and self._char() in _WORD_CHARS:
            self.pos += 1
        return NamePart(self.source[start : self.pos], quoted=False)

    def _quoted(self, quote: str, what: str) -> str:
        start = self.pos
        self.pos += 1
        chunks: list[str] = []
        while True:
            end = self.source.find(quote, self.pos)
            if end < 0:
                raise self._error(start, self.source[start:], f"unterminated {what}: no closing {quote}")
            chunks.append(self.source[self.pos : end])
            if self.source[end + 1 : end + 2] == quote:
                chunks.append(quote)
                self.pos = end + 2
                continue
            self.pos = end + 1
            return "".join(chunks)
