"""Every read model the engine keeps. Add a projection here to have it kept."""

from __future__ import annotations

from projections.audit import AuditProjection
from projections.base import Projection
from projections.departments import DepartmentsProjection
from projections.disputes import DisputesProjection


def all_projections() -> list[Projection]:
    return [DisputesProjection(), AuditProjection(), DepartmentsProjection()]
