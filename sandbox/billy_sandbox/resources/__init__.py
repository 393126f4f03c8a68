"""Importing this package registers every resource in `billy_sandbox.registry`."""

from billy_sandbox.resources import (  # noqa: F401
    bills,
    contacts,
    files,
    invoices,
    ledger,
    payments,
    products,
    reference,
)
