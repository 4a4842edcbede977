"""A small, safe row-filter language (`user_id = 123 AND country IN ('DE', 'FR')`) for erasing rows.

Grammar (keywords in any case)::

    filter     := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | comparison
    comparison := column ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") literal
                | column ["NOT"] "IN" "(" literal ("," literal)* ")"
                | column "IS" ["NOT"] "NULL"
    column     := bare identifier | "double quoted" (a doubled "" is one ")
    literal    := ["-"] number | 'single quoted' (a doubled '' is one ') | TRUE | FALSE

A filter becomes a pyarrow compute expression, never SQL text. Comparisons with NULL follow SQL: a null
value matches neither `x = 1` nor `NOT (x = 1)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Compare",
    "InList",
    "IsNull",
    "Not",
    "Or",
    "RowFilter",
    "parse_row_filter",
]

#: Parentheses and NOTs nest at most this deep.
MAX_DEPTH = 100
#: Filters are at most this many characters.
MAX_LENGTH = 10_000

Literal: TypeAlias = int | float | str | bool

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE"})
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),-])"
)


@dataclass(frozen=True)
class Compare:
    """`column op value`."""

    column: str
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    """`column [NOT] IN (values)`."""

    column: str
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """`column IS [NOT] NULL`."""

    column: str
    negated: bool


@dataclass(frozen=True)
class Not:
    """`NOT operand`."""

    operand: Node


@dataclass(frozen=True)
class And:
    """`left AND right`."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    """`left OR right`."""

    left: Node
    right: Node


Node: TypeAlias = Compare | InList | IsNull | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "string", "word", "ident", "op", "punct", "end"
    text: str
    value: Any
    position: int


@dataclass(frozen=True)
class RowFilter:
    """A parsed row filter.

    Attributes:
        text: The filter as written.
        root: Its syntax tree.
    """

    text: str
    root: Node

    @property
    def columns(self) -> frozenset[str]:
        """Every column the filter names."""
        return frozenset(_columns(self.root))

    def to_arrow_expression(self, schema: pa.Schema | None = None) -> pc.Expression:
        """The filter as a pyarrow compute expression (true for rows that match).

        Args:
            schema: When given, every column must be in it and every literal is cast to its column's type
                (so `day = '2024-01-31'` works on a date column); otherwise literals keep their own type.

        Raises:
            InvalidArgument: with `schema`, for a missing column or a literal that does not fit its column.
        """
        return _expression(self.root, schema)


def _columns(node: Node) -> set[str]:
    if isinstance(node, And | Or):
        return _columns(node.left) | _columns(node.right)
    if isinstance(node, Not):
        return _columns(node.operand)
    return {node.column}


def _expression(node: Node, schema: pa.Schema | None) -> pc.Expression:
    import pyarrow.compute as pc

    if isinstance(node, And):
        return _expression(node.left, schema) & _expression(node.right, schema)
    if isinstance(node, Or):
        return _expression(node.left, schema) | _expression(node.right, schema)
    if isinstance(node, Not):
        return ~_expression(node.operand, schema)
    field = pc.field(node.column)
    if isinstance(node, IsNull):
        if schema is not None:
            _field_type(schema, node.column)
        return field.is_valid() if node.negated else field.is_null()
    if isinstance(node, InList):
        members = [_literal(schema, node.column, value) for value in node.values]
        found = field.isin(members)
        # isin is never null; keep SQL's rule that a null value matches neither IN nor NOT IN
        return field.is_valid() & (~found if node.negated else found)
    comparisons = {
        "=": field.__eq__,
        "!=": field.__ne__,
        "<>": field.__ne__,
        "<": field.__lt__,
        "<=": field.__le__,
        ">": field.__gt__,
        ">=": field.__ge__,
    }
    result: pc.Expression = comparisons[node.op](pc.scalar(_literal(schema, node.column, node.value)))
    return result


def _field_type(schema: pa.Schema, column: str) -> pa.DataType:
    if column not in schema.names:
        raise InvalidArgument(f"row filter names column {column!r}, which is not in the data")
    return schema.field(column).type


def _literal(schema: pa.Schema | None, column: str, value: Literal) -> Any:
    """`value` checked against its column's type; text for date and time columns is cast to that type."""
    import pyarrow as pa
    import pyarrow.types as pat

    if schema is None:
        return value
    data_type = _field_type(schema, column)
    if pat.is_dictionary(data_type):
        data_type = data_type.value_type
    if pat.is_timestamp(data_type) or pat.is_date(data_type):
        if isinstance(value, str):
            try:
                return pa.scalar(value).cast(data_type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise InvalidArgument(
                    f"row filter value {value!r} is not a {data_type} for {column!r}"
                ) from error
        fits = False
    elif pat.is_string(data_type) or pat.is_large_string(data_type) or pat.is_string_view(data_type):
        fits = isinstance(value, str)
    elif pat.is_integer(data_type) or pat.is_floating(data_type) or pat.is_decimal(data_type):
        fits = isinstance(value, int | float) and not isinstance(value, bool)
    elif pat.is_boolean(data_type):
        fits = isinstance(value, bool)
    else:
        fits = True
    if not fits:
        raise InvalidArgument(
            f"row filter value {value!r} does not fit column {column!r} of type {data_type}"
        )
    return value


def parse_row_filter(text: str) -> RowFilter:
    """Parse a row filter such as `user_id = 123` or `"e-mail" IN ('a@x.io') OR age IS NULL`.

    Raises:
        InvalidArgument: naming the position (1-based character) of the first problem.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"row filter must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidArgument(f"row filter is {len(text)} characters; the limit is {MAX_LENGTH}")
    parser = _Parser(text, _tokens(text))
    root = parser.parse_or(0)
    parser.expect_end()
    return RowFilter(text, root)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in "'\"":
            token, position = _quoted(text, position)
            tokens.append(token)
            continue
        found = _TOKEN.match(text, position)
        if found is None:
            raise _error(text, position, f"unexpected character {char!r}")
        kind = found.lastgroup or ""
        word = found.group()
        if kind == "number":
            value: Any = float(word) if any(c in word for c in ".eE") else int(word)
            tokens.append(_Token("number", word, value, position))
        elif kind != "space":
            tokens.append(_Token(kind, word, word.upper() if kind == "word" else word, position))
        position = found.end()
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


def _quoted(text: str, start: int) -> tuple[_Token, int]:
    """A 'string' or "identifier" starting at `start`, with doubled quotes as escapes."""
    quote = text[start]
    pieces: list[str] = []
    position = start + 1
    while True:
        end = text.find(quote, position)
        if end < 0:
            what = "string" if quote == "'" else "quoted column name"
            raise _error(text, start, f"unterminated {what}")
        pieces.append(text[position:end])
        if text.startswith(quote * 2, end):
            pieces.append(quote)
            position = end + 2
            continue
        value = "".join(pieces)
        if quote == '"' and not value:
            raise _error(text, start, "empty column name")
        kind = "string" if quote == "'" else "ident"
        return _Token(kind, text[start : end + 1], value, start), end + 1


def _error(text: str, position: int, problem: str) -> InvalidArgument:
    shown = text if len(text) <= 80 else f"...{text[max(0, position - 40) : position + 40]}..."
    return InvalidArgument(f"row filter {shown!r}: {problem} at position {position + 1}")


class _Parser:
    """Recursive descent over the token list; depth counts nested parentheses and NOTs."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, problem: str, token: _Token | None = None) -> InvalidArgument:
        token = token or self.token
        shown = "the end" if token.kind == "end" else repr(token.text)
        return _error(self.text, token.position, f"{problem}, found {shown}")

    def keyword(self, word: str) -> bool:
        if self.token.kind == "word" and self.token.value == word:
            self.index += 1
            return True
        return False

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.index += 1
            return True
        return False

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise self.fail("expected AND, OR or the end of the filter")

    def parse_or(self, depth: int) -> Node:
        node = self.parse_and(depth)
        while self.keyword("OR"):
            node = Or(node, self.parse_and(depth))
        return node

    def parse_and(self, depth: int) -> Node:
        node = self.parse_not(depth)
        while self.keyword("AND"):
            node = And(node, self.parse_not(depth))
        return node

    def parse_not(self, depth: int) -> Node:
        if depth >= MAX_DEPTH:
            raise self.fail(f"filter nests deeper than {MAX_DEPTH} levels")
        if self.keyword("NOT"):
            return Not(self.parse_not(depth + 1))
        if self.punct("("):
            node = self.parse_or(depth + 1)
            if not self.punct(")"):
                raise self.fail("expected ')'")
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        token = self.token
        if token.kind == "ident" or (token.kind == "word" and token.value not in _KEYWORDS):
            column = token.value if token.kind == "ident" else token.text
            self.index += 1
        else:
            raise self.fail('expected a column name (quote names that are keywords: "in")')
        if self.token.kind == "op":
            op = self.token.text
            self.index += 1
            return Compare(column, op, self.parse_literal())
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            if not self.keyword("NULL"):
                raise self.fail("expected NULL after IS")
            return IsNull(column, negated)
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            return InList(column, self.parse_list(), negated)
        raise self.fail(f"expected a comparison, IN or IS after column {column!r}")

    def parse_list(self) -> tuple[Literal, ...]:
        if not self.punct("("):
            raise self.fail("expected '(' after IN")
        values = [self.parse_literal()]
        while self.punct(","):
            values.append(self.parse_literal())
        if not self.punct(")"):
            raise self.fail("expected ',' or ')' in the IN list")
        return tuple(values)

    def parse_literal(self) -> Literal:
        token = self.token
        sign = -1 if self.punct("-") else 1
        if self.token.kind == "number":
            value: Literal = sign * self.token.value
        elif sign == 1 and self.token.kind == "string":
            value = str(self.token.value)
        elif sign == 1 and self.token.kind == "word" and self.token.value in ("TRUE", "FALSE"):
            value = self.token.value == "TRUE"
        else:
            raise self.fail(
                "expected a number, a 'quoted string', TRUE or FALSE", token if sign == 1 else None
            )
        self.index += 1
        return value
