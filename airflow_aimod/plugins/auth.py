"""Authentication for the AiMod app: Airflow's own, as the api-server applies it to ``/api/v2``.

A request is authenticated by the JWT the Airflow UI keeps in the ``_token`` cookie (the page
runs inside the UI, same origin) or by ``Authorization: Bearer <token>`` from ``POST /auth/token``;
both go through the configured auth manager (``airflow...security.get_user``): missing or expired
→ 401, invalid → 403. What a user sees is then limited to the DAGs the auth manager lets them read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from airflow.api_fastapi.core_api.security import GetUserDep


def readable_dag_ids(user: GetUserDep) -> set[str]:
    """The DAG ids this user may read (sync: the auth manager queries the metadata DB)."""
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


ReadableDags = Annotated[set, Depends(readable_dag_ids)]


def user_name(user: Any) -> str:
    """A display name for the signed-in user."""
    getter = getattr(user, "get_name", None)
    return str(getter() if callable(getter) else getattr(user, "username", "user"))
