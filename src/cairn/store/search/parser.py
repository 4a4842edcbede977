"""Recursive-descent parsers turning filter strings and order_by clauses into syntax trees.

Grammar (keywords case-insensitive)::

    filter     := clause ("AND" clause)* END
    clause     := name comparison
    comparison := ("=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE") value
                | ["NOT"] "IN" "(" value ("," value)* ")"
                | "IS" ["NOT"] "NULL"
    order_by   := name ["ASC" | "DESC"] END
    name       := [prefix "."] key        (no prefix: an attribute)

`OR`, `NOT` elsewhere, parentheses other than an IN list, and `;` are rejected. Which
names exist, which comparators apply to them and which literal they take comes from a
`SearchSchema`. Cairn extensions over MLflow: `IN` / `NOT IN` on params, tags and every
string attribute (MLflow allows it only on `run_id` and dataset fields).
"""

from __future__ import annotations

from collections.abc import Sequence

from cairn.errors import InvalidArgument
from cairn.store.search.nodes import (
    LIST_COMPARATORS,
    NULL_COMPARATORS,
    Comparison,
    Entity,
    Key,
    OrderKey,
)
from cairn.store.search.schema import FieldRule, SearchSchema, ValueType
from cairn.store.search.tokens import SearchSyntaxError, Token, TokenKind, shorten, tokenize

MAX_FILTER_LENGTH = 20_000
"""The longest filter string accepted, in characters."""

MAX_FILTER_CLAUSES = 500
"""The most AND-joined clauses one filter may hold."""

_RESERVED = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"})
_COMPARATOR_ORDER = (
    *("=", "!=", "<", "<=", ">", ">="),
    *("LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"),
)
_VALUE_KINDS = frozenset({TokenKind.STRING, TokenKind.NUMBER, TokenKind.WORD, TokenKind.NAME})
_INT64_DIGITS = 19
_INT64_LIMIT = 2**63
_LABELS = {Entity.DATASET: "dataset field"}


def parse_filter(filter_string: str | None, schema: SearchSchema) -> list[Comparison]:
    """Parse a search filter into its AND-joined comparisons.

    Args:
        filter_string: The filter, e.g. `metrics.acc > 0.9 AND params.model = 'rf'`; None,
            empty or blank means no filter.
        schema: What the searched resource lets a filter name (`RUN_SEARCH`, ...).

    Returns:
        The comparisons in the order written; an empty list for no filter.

    Raises:
        SearchSyntaxError: the text is malformed; the message names the position and token.
        InvalidArgument: the filter is too long, or names a key, comparator or value the
            schema does not allow.
    """
    if filter_string is None or not filter_string.strip():
        return []
    if len(filter_string) > MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"Invalid filter: it is {len(filter_string)} characters; the limit is {MAX_FILTER_LENGTH}"
        )
    return _Parser(filter_string, schema, "filter").filter()


def parse_order_by(order_by: Sequence[str] | None, schema: SearchSchema) -> list[OrderKey]:
    """Parse order_by clauses such as `metrics.rmse DESC` (ascending unless DESC is given).

    Raises:
        SearchSyntaxError: a clause is malformed; the message quotes the clause.
        InvalidArgument: a clause names an unknown or unorderable key, or `order_by` is a
            single string instead of a list.
    """
    if order_by is None:
        return []
    if isinstance(order_by, str):
        raise InvalidArgument(f"Invalid order_by: expected a list of strings, got the string {order_by!r}")
    keys: list[OrderKey] = []
    for clause in order_by:
        if not isinstance(clause, str):
            raise InvalidArgument(f"Invalid order_by: each clause must be a string, got {clause!r}")
        if len(clause) > MAX_FILTER_LENGTH:
            raise InvalidArgument(f"Invalid order_by: a clause is {len(clause)} characters long")
        keys.append(_Parser(clause, schema, f"order_by {shorten(clause, 100)!r}").order_key())
    return keys


def describe_key(key: Key) -> str:
    """Return how messages name a key, e.g. `metric 'acc'`."""
    return f"{_LABELS.get(key.entity, key.entity.value)} {key.name!r}"


def _keyword(token: Token) -> str | None:
    if token.kind is TokenKind.WORD:
        return token.value.upper()
    return None


class _Parser:
    """A cursor over one filter's or order_by clause's tokens."""

    def __init__(self, source: str, schema: SearchSchema, where: str) -> None:
        if "\x00" in source:
            raise InvalidArgument(f"Invalid {where}: it contains a NUL character")
        self.schema = schema
        self.where = where
        self.tokens = tokenize(source, where)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.END:
            self.index += 1
        return token

    def syntax_error(self, token: Token, reason: str) -> SearchSyntaxError:
        near = None if token.kind is TokenKind.END else token.text
        return SearchSyntaxError(self.where, token.position, near, reason)

    def invalid(self, token: Token, reason: str) -> InvalidArgument:
        return InvalidArgument(f"Invalid {self.where} at position {token.position}: {reason}")

    # --- filters -------------------------------------------------------------------------

    def filter(self) -> list[Comparison]:
        comparisons = [self.clause()]
        while True:
            token = self.advance()
            keyword = _keyword(token)
            if token.kind is TokenKind.END:
                return comparisons
            if keyword == "OR":
                raise self.syntax_error(token, "only AND may join clauses")
            if keyword != "AND":
                raise self.syntax_error(token, "expected AND or the end of the filter")
            if len(comparisons) >= MAX_FILTER_CLAUSES:
                raise self.invalid(token, f"a filter may hold at most {MAX_FILTER_CLAUSES} clauses")
            comparisons.append(self.clause())

    def clause(self) -> Comparison:
        key, rule = self.key(for_order=False)
        op_token = self.peek()
        op = self.comparator()
        if op not in rule.comparators:
            raise self.invalid(op_token, _comparator_problem(key, rule, op))
        if op in NULL_COMPARATORS:
            return Comparison(key, op, None)
        if op in LIST_COMPARATORS:
            return Comparison(key, op, self.value_list(key))
        token = self.advance()
        if token.kind not in _VALUE_KINDS:
            raise self.syntax_error(token, f"expected a value after {op}")
        return Comparison(key, op, self.value(token, key, rule))

    def comparator(self) -> str:
        token = self.advance()
        if token.kind is TokenKind.OPERATOR:
            return token.value
        keyword = _keyword(token)
        if keyword in ("LIKE", "ILIKE", "IN"):
            return keyword
        if keyword == "NOT":
            following = self.advance()
            if _keyword(following) != "IN":
                raise self.syntax_error(following, "NOT may only be used in NOT IN and IS NOT NULL")
            return "NOT IN"
        if keyword == "IS":
            return self.after_is()
        raise self.syntax_error(token, f"expected a comparator ({', '.join(_COMPARATOR_ORDER)})")

    def after_is(self) -> str:
        token = self.advance()
        keyword = _keyword(token)
        if keyword == "NULL":
            return "IS NULL"
        if keyword == "NOT":
            token = self.advance()
            if _keyword(token) == "NULL":
                return "IS NOT NULL"
        raise self.syntax_error(token, "expected IS NULL or IS NOT NULL")

    def value_list(self, key: Key) -> tuple[str, ...]:
        opening = self.advance()
        if opening.kind is not TokenKind.LPAREN:
            raise self.syntax_error(opening, "expected '(' to open the IN list")
        if self.peek().kind is TokenKind.RPAREN:
            raise self.syntax_error(self.peek(), "the IN list must not be empty")
        items: list[str] = []
        while True:
            token = self.advance()
            if token.kind not in _VALUE_KINDS:
                raise self.syntax_error(token, "expected a value in the IN list")
            if token.kind is not TokenKind.STRING:
                wanted = f"{describe_key(key)} IN list needs quoted strings"
                raise self.invalid(token, f"{wanted}, got {shorten(token.text)}")
            items.append(token.value)
            separator = self.advance()
            if separator.kind is TokenKind.RPAREN:
                return tuple(items)
            if separator.kind is not TokenKind.COMMA:
                raise self.syntax_error(separator, "expected ',' or ')' in the IN list")

    def value(self, token: Token, key: Key, rule: FieldRule) -> str | float | int:
        wanted = rule.value_type
        if wanted is ValueType.STRING and token.kind is TokenKind.STRING:
            return token.value
        if wanted is ValueType.FLOAT and token.kind is TokenKind.NUMBER:
            return float(token.value)
        if wanted is ValueType.INTEGER and token.kind is TokenKind.NUMBER:
            return self.integer(token, key)
        hint = " (compare with IS NULL instead)" if _keyword(token) == "NULL" else ""
        got = f"got {shorten(token.text)}{hint}"
        raise self.invalid(token, f"{describe_key(key)} needs {wanted.value}, {got}")

    def integer(self, token: Token, key: Key) -> int:
        digits = token.value.removeprefix("-")
        if not digits.isdigit():
            raise self.invalid(token, f"{describe_key(key)} needs an integer, got {token.text}")
        if len(digits) > _INT64_DIGITS or not -_INT64_LIMIT <= int(token.value) < _INT64_LIMIT:
            raise self.invalid(token, f"{describe_key(key)} value {shorten(token.text)} is out of range")
        return int(token.value)

    # --- order_by ------------------------------------------------------------------------

    def order_key(self) -> OrderKey:
        first = self.peek()
        if _keyword(first) in ("ASC", "DESC"):
            raise self.syntax_error(first, f"expected a name before {first.value.upper()}")
        key, _ = self.key(for_order=True)
        token = self.advance()
        ascending = True
        if _keyword(token) in ("ASC", "DESC"):
            ascending = _keyword(token) == "ASC"
            token = self.advance()
        if token.kind is not TokenKind.END:
            raise self.syntax_error(token, "expected ASC, DESC or the end of the clause")
        return OrderKey(key, ascending)

    # --- names ---------------------------------------------------------------------------

    def key(self, *, for_order: bool) -> tuple[Key, FieldRule]:
        token = self.advance()
        entity, name = self.name(token)
        rules = self.schema.entities.get(entity)
        if rules is None:
            prefixes = ", ".join(self.schema.prefixes_for_supported())
            raise self.invalid(
                token,
                f"{entity.value}s cannot be used when searching {self.schema.subject}; "
                f"valid prefixes: {prefixes}",
            )
        found = rules.lookup(name)
        label = _LABELS.get(entity, entity.value)
        if found is None:
            valid = ", ".join(rules.field_names(orderable_only=for_order))
            problem = f"unknown {label} {name!r} for {self.schema.subject}"
            raise self.invalid(token, f"{problem}; valid {label}s: {valid}")
        key = Key(entity, found[0])
        if for_order and not found[1].orderable:
            valid = ", ".join(rules.field_names(orderable_only=True))
            hint = f"; orderable {label}s: {valid}" if valid else ""
            raise self.invalid(token, f"{describe_key(key)} cannot be used in order_by{hint}")
        return key, found[1]

    def name(self, token: Token) -> tuple[Entity, str]:
        if token.kind is TokenKind.WORD and token.value.upper() in _RESERVED:
            raise self.syntax_error(token, _misplaced_keyword(token.value.upper()))
        if token.kind is TokenKind.STRING and token.quote == "'":
            raise self.syntax_error(token, "expected a name; quote names with backticks or double quotes")
        if token.kind not in (TokenKind.WORD, TokenKind.NAME, TokenKind.STRING):
            reason = "parentheses may only enclose an IN list" if token.kind is TokenKind.LPAREN else ""
            raise self.syntax_error(token, reason or "expected a name")
        entity = Entity.ATTRIBUTE
        parts = token.parts
        if len(parts) > 1:
            prefix = parts[0].text
            found = self.schema.prefixes.get(prefix.lower())
            if found is None:
                valid = ", ".join(self.schema.prefixes_for_supported())
                problem = f"unknown prefix {prefix!r} in {shorten(token.text)}"
                raise self.invalid(token, f"{problem}; valid prefixes: {valid}")
            entity, parts = found, parts[1:]
        name = ".".join(part.text for part in parts)
        if not name:
            raise self.syntax_error(token, "a key must not be empty")
        return entity, name


def _misplaced_keyword(keyword: str) -> str:
    if keyword == "NOT":
        return "NOT may only be used in NOT IN and IS NOT NULL"
    if keyword == "OR":
        return "only AND may join clauses"
    return f"expected a name, found the keyword {keyword}"


def _comparator_problem(key: Key, rule: FieldRule, op: str) -> str:
    if not rule.comparators:
        return f"{describe_key(key)} cannot be used in a filter"
    allowed = ", ".join(name for name in _COMPARATOR_ORDER if name in rule.comparators)
    return f"comparator {op} is not allowed on {describe_key(key)}; allowed: {allowed}"
