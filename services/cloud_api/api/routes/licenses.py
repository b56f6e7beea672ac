from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.domain.license_report import Paging, enterprise_licenses
from services.cloud_api.schemas import LicensesView

router = APIRouter(tags=["licenses"])


@router.get("/enterprise/licenses")
def get_enterprise_licenses(
    owner: OwnerDep,
    state: StateDep,
    include: Literal["users"] | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> LicensesView:
    """The caller's enterprise: totals, breakdown, per-instance status, and with
    ``?include=users`` a page of persons with the accounts merged into each."""
    paging = Paging(page, per_page) if include == "users" else None
    with state.sessions() as session:
        return enterprise_licenses(session, state.cache, owner.enterprise_id, paging)
