"""The decisions a person can give an agent's approval request (``core.approval`` re-exports them).

Apart from ``core.approval`` so an operator can validate ``timeout_outcome`` when a DAG file is parsed
without creating the request and decision classes, which only a running task needs.
"""

from __future__ import annotations

APPROVE, REJECT, EDIT = "approve", "reject", "edit"

__all__ = ["APPROVE", "EDIT", "REJECT"]
