"""Customer attributes in SQL, written exactly as migration ``0018`` indexes them.

An index on an expression serves only a query that writes the same expression, with
its JSON path inline (a path sent as a bound parameter is another expression): these
elements compile to the indexed text on each database, so every query that filters or
orders customers by clinic or name reads the index.

- ``customer_clinic()``: the ``clinic_id`` attribute as text, what
  ``attributes["clinic_id"].as_string()`` gives (a number's digits, ``true``...), the
  clinic every access check reads (``engine.store.access``); ``ix_customers_clinic``.
- ``customer_name()``: the ``name`` attribute (``json_extract``/``->>``);
  ``ix_customers_name``.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.store.sql.tables import CustomerRow

__all__ = ["CLINIC", "customer_clinic", "customer_name"]

#: The attribute naming a customer's clinic.
CLINIC = "clinic_id"


def _doc(compiler: SQLCompiler, **kw: object) -> str:
    return str(compiler.process(CustomerRow.attributes.expression, **kw))


class customer_clinic(FunctionElement[str]):  # noqa: N801 - an SQL function, named as one
    """A customer's ``clinic_id`` attribute as text, as ``ix_customers_clinic`` has it."""

    type = String()
    inherit_cache = True


@compiles(customer_clinic, "sqlite")
def _clinic_sqlite(element: customer_clinic, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(JSON_EXTRACT({_doc(compiler, **kw)}, '$.\"clinic_id\"') AS VARCHAR)"


@compiles(customer_clinic)
def _clinic(element: customer_clinic, compiler: SQLCompiler, **kw: object) -> str:
    return f"({_doc(compiler, **kw)} ->> 'clinic_id')"


class customer_name(FunctionElement[str]):  # noqa: N801 - an SQL function, named as one
    """A customer's ``name`` attribute, as ``ix_customers_name`` has it."""

    type = String()
    inherit_cache = True


@compiles(customer_name, "sqlite")
def _name_sqlite(element: customer_name, compiler: SQLCompiler, **kw: object) -> str:
    return f"json_extract({_doc(compiler, **kw)}, '$.name')"


@compiles(customer_name)
def _name(element: customer_name, compiler: SQLCompiler, **kw: object) -> str:
    return f"({_doc(compiler, **kw)} ->> 'name')"
