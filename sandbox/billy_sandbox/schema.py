"""The declarative description of a resource: its fields, children, operations, filters and sorting.

Generic code (validation, listing, include, the write pipeline) is driven by these tables; what is
particular to one resource lives in its `Hooks`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billy_sandbox.store import Tx

Record = dict[str, Any]
MAX_TEXT = 65_535
MAX_AMOUNT = Decimal("1e13")


class Kind(Enum):
    STR = "string"
    NUMSTR = "string or integer"  # invoiceNo: a string on the wire, though clients post integers
    INT = "integer"
    DEC = "number"
    BOOL = "boolean"
    DATE = "date (YYYY-MM-DD)"
    DATETIME = "datetime (YYYY-MM-DDTHH:MM:SS)"
    ENUM = "enum"
    ID = "id"  # belongs-to: `<name>Id`
    REF = "reference"  # polymorphic belongs-to: "<type>:<id>"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = Kind.STR
    required: bool = False
    readonly: bool = False
    immutable: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    target: str | None = None  # the resource an ID field points at
    nullable: bool = True
    index: bool = False


@dataclass(frozen=True)
class Child:
    """A has-many relationship, optionally saved embedded in the parent's body."""

    name: str
    resource: str
    fk: str
    prefix: str = ""  # fk value = prefix + parent id (bankPayment associations use "bankPayment:")
    writable: bool = True


class Hooks:
    """Resource-specific behaviour around the generic write pipeline. Defaults do nothing."""

    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        """Fill defaults and derived fields before references are checked (create and update)."""

    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        """Refuse an update, e.g. of an approved invoice."""

    def check_delete(self, tx: Tx, record: Record) -> None:
        """Refuse a delete."""

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        """Recompute totals, run state transitions; called once children are saved."""

    def after_delete(self, tx: Tx, record: Record) -> None:
        """Update parents after a delete."""


FilterFn = Callable[[str, "Tx"], Callable[[Record], bool]]
SortKey = Callable[[Record, "Tx"], Any]


@dataclass
class Resource:
    name: str
    plural: str
    fields: tuple[Field, ...]
    ops: frozenset[str] = frozenset({"get", "list", "create", "update", "delete"})
    children: tuple[Child, ...] = ()
    sortable: tuple[str, ...] | None = None  # None = any scalar field
    filters: Mapping[str, FilterFn] = field(default_factory=dict)
    search: tuple[str, ...] = ()  # fields `q` searches
    sort_keys: Mapping[str, SortKey] = field(default_factory=dict)  # computed sort properties
    hooks: Hooks = field(default_factory=Hooks)
    natural_ids: bool = False  # reference data keyed by natural ids such as "DKK"
    has_org: bool = True
    parent: tuple[str, str] | None = None  # (parent resource, fk) for children like invoiceLine

    def __post_init__(self) -> None:
        if not self.fields or self.fields[0].name != "id":
            self.fields = (Field("id", readonly=True, nullable=False), *self.fields)
        self.by_name = {f.name: f for f in self.fields}
        self.child_by_name = {c.name: c for c in self.children}

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def blank(self) -> Record:
        return {f.name: f.default for f in self.fields}


def S(name: str, **kw: Any) -> Field:
    return Field(name, Kind.STR, **kw)


def T(name: str, **kw: Any) -> Field:
    """A text field that reads back as "" when unset, as Billy's contact fields do."""
    return Field(name, Kind.STR, default="", **kw)


def I(name: str, **kw: Any) -> Field:  # noqa: E743
    return Field(name, Kind.INT, **kw)


def D(name: str, **kw: Any) -> Field:
    return Field(name, Kind.DEC, **kw)


def B(name: str, default: bool = False, **kw: Any) -> Field:
    return Field(name, Kind.BOOL, default=default, nullable=False, **kw)


def Date(name: str, **kw: Any) -> Field:
    return Field(name, Kind.DATE, **kw)


def Time(name: str, **kw: Any) -> Field:
    return Field(name, Kind.DATETIME, **kw)


def E(name: str, *choices: str, **kw: Any) -> Field:
    return Field(name, Kind.ENUM, choices=choices, **kw)


def Id(name: str, target: str, **kw: Any) -> Field:
    kw.setdefault("index", True)
    return Field(name, Kind.ID, target=target, **kw)


def Ref(name: str, **kw: Any) -> Field:
    kw.setdefault("index", True)
    return Field(name, Kind.REF, **kw)


ORG = Id("organizationId", "organization", immutable=True)
CREATED = Time("createdTime", readonly=True)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


class FieldError(ValueError):
    pass


def coerce(spec: Field, value: Any) -> Any:
    """Check one JSON value against its field and return it in stored form; raise FieldError."""
    if value is None:
        if spec.nullable and not spec.required:
            return None
        raise FieldError("is required" if spec.required else "must not be null")
    return _COERCERS[spec.kind](spec, value)


def _string(spec: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError("must be a string")
    if len(value) > MAX_TEXT:
        raise FieldError("is too long")
    if spec.required and not value.strip():
        raise FieldError("is required")
    return value


def _numstr(spec: Field, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(spec, value)


def _integer(spec: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("must be an integer")
    if abs(value) > 10**12:
        raise FieldError("is out of range")
    return value


def _decimal(spec: Field, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise FieldError("must be a number")
    number = Decimal(value)
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise FieldError("is out of range")
    return number


def _boolean(spec: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError("must be true or false")
    return value


def _temporal(
    pattern: re.Pattern[str], parse: Callable[[str], Any], form: str
) -> Callable[[Field, Any], str]:
    def check(spec: Field, value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise FieldError(f"must be in {form} format")
        try:
            parse(value)
        except ValueError as exc:
            raise FieldError(f"is not a valid {form}") from exc
        return value

    return check


_date = _temporal(_DATE_RE, dt.date.fromisoformat, "YYYY-MM-DD")
_datetime = _temporal(_TIME_RE, dt.datetime.fromisoformat, "YYYY-MM-DDTHH:MM:SS")


def _enum(spec: Field, value: Any) -> str:
    if value not in spec.choices:
        raise FieldError("must be one of " + ", ".join(spec.choices))
    return str(value)


def _id(spec: Field, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise FieldError("must be an id string")
    return value


def _ref(spec: Field, value: Any) -> str:
    if not isinstance(value, str) or value.count(":") != 1 or not all(value.split(":")):
        raise FieldError('must be a reference of the form "<type>:<id>"')
    return value


_COERCERS: dict[Kind, Callable[[Field, Any], Any]] = {
    Kind.STR: _string,
    Kind.NUMSTR: _numstr,
    Kind.INT: _integer,
    Kind.DEC: _decimal,
    Kind.BOOL: _boolean,
    Kind.DATE: _date,
    Kind.DATETIME: _datetime,
    Kind.ENUM: _enum,
    Kind.ID: _id,
    Kind.REF: _ref,
}


def parse_query_value(spec: Field, text: str) -> Any:
    """A query-string value in the field's stored form (for equality filters)."""
    if spec.kind is Kind.BOOL:
        if text not in ("true", "false", "1", "0"):
            raise FieldError("must be true or false")
        return text in ("true", "1")
    if spec.kind is Kind.INT:
        try:
            return int(text)
        except ValueError as exc:
            raise FieldError("must be an integer") from exc
    if spec.kind is Kind.DEC:
        try:
            return _decimal(spec, Decimal(text))
        except ArithmeticError as exc:
            raise FieldError("must be a number") from exc
    if text == "null":
        return None
    return coerce(Field(spec.name, spec.kind, choices=spec.choices), text)
