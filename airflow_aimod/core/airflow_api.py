"""A small client for Airflow's public REST API v2, guarded by the agent's envelope.

Every request names the action kind it performs (``airflow.read``, ``airflow.clear_task``,
``airflow.modify_schedule``) and passes ``PermissionValidator.enforce`` before any byte is
sent: there is no way to reach the HTTP layer around the check. A kind that needs approval
(clearing, for the ETL monitor) also needs ``approved=True``. Every call has a timeout.
Auth: a given bearer token, or ``POST /auth/token`` with a username and password (simple
auth manager, or any auth manager offering that endpoint). Pure: httpx only, no Airflow import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow_aimod.core.permissions import Action, PermissionValidator
from airflow_aimod.core.redaction import register_secret
from airflow_aimod.exceptions import AimodError, ConfigurationError, PermissionDenied

__all__ = ["AirflowApiClient", "AirflowApiError", "ApiCredentials"]

MAX_PAGE = 100


class AirflowApiError(AimodError):
    """Raised when Airflow's API cannot be reached or answers with an error; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiCredentials:
    """Where the API server is and who the client is: a token, or a username and password."""

    base_url: str
    username: str | None = None
    password: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"the API base URL must start with http:// or https://, got {self.base_url!r}; "
                                     "set the connection's host to the api-server, e.g. http://airflow:8080")
        if not self.token and not (self.username and self.password):
            raise ConfigurationError("the Airflow API needs a token, or a login and password "
                                     "(the connection's login/password, or extra {\"token\": ...})")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        register_secret([self.password, self.token])


def _q(value: str) -> str:
    return quote(str(value), safe="")


class AirflowApiClient:
    """The endpoints the ETL monitor uses, each checked against the envelope before it is called."""

    def __init__(self, credentials: ApiCredentials, validator: PermissionValidator, *, timeout_s: float = 30.0,
                 transport: Any = None) -> None:
        import httpx

        self.credentials = credentials
        self.validator = validator
        self._token = credentials.token
        self._http = httpx.Client(base_url=credentials.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowApiClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reads (airflow.read) --------------------------------------------------------------

    def failed_dag_runs(self, dag_id: str, *, since: datetime, limit: int = MAX_PAGE) -> list[dict[str, Any]]:
        """Failed runs of ``dag_id`` that ended at or after ``since``, newest first."""
        params = {"state": "failed", "end_date_gte": since.isoformat(), "order_by": "-end_date", "limit": limit}
        body = self._send("airflow.read", "GET", f"/dags/{_q(dag_id)}/dagRuns", params=params, target=dag_id)
        return list(body.get("dag_runs") or [])

    def task_instances(self, dag_id: str, run_id: str, *, state: str | None = None) -> list[dict[str, Any]]:
        """Task instances of one run (optionally only those in ``state``)."""
        params = {"limit": MAX_PAGE, **({"state": state} if state else {})}
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances"
        body = self._send("airflow.read", "GET", path, params=params, target=f"{dag_id}/{run_id}")
        return list(body.get("task_instances") or [])

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """One task instance as it is now."""
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
        if map_index >= 0:
            path += f"/{map_index}"
        return self._send("airflow.read", "GET", path, target=f"{dag_id}/{run_id}/{task_id}")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> list[Any]:
        """The log of one try: the API's ``content`` list (structured messages in 3.x; text lines otherwise)."""
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{int(try_number)}"
        body = self._send("airflow.read", "GET", path, params={"map_index": map_index, "full_content": "true"},
                          headers={"Accept": "application/json"}, target=f"{dag_id}/{run_id}/{task_id}#{try_number}")
        content = body.get("content")
        if isinstance(content, str):
            return content.splitlines()
        return list(content or [])

    # -- changes ---------------------------------------------------------------------------

    def clear_failed_task(self, dag_id: str, run_id: str, task_id: str, *, map_index: int = -1,
                          note: str | None = None, approved: bool = False) -> list[dict[str, Any]]:
        """Clear one failed task instance so it runs again (``only_failed``: a running one is left alone)."""
        task = [task_id, map_index] if map_index >= 0 else task_id
        body = {"dry_run": False, "only_failed": True, "task_ids": [task], "dag_run_id": run_id,
                "include_upstream": False, "include_downstream": False, "reset_dag_runs": True,
                **({"note": note[:1000]} if note else {})}
        out = self._send("airflow.clear_task", "POST", f"/dags/{_q(dag_id)}/clearTaskInstances", json=body,
                         target=f"{dag_id}/{run_id}/{task_id}", approved=approved)
        return list(out.get("task_instances") or [])

    # -- transport -------------------------------------------------------------------------

    def _send(self, kind: str, method: str, path: str, *, target: str, approved: bool = False,
              params: Mapping[str, Any] | None = None, json: Any = None,
              headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The one way to the network: the envelope check first, then the request."""
        verdict = self.validator.enforce(Action(kind, target=target, params={"method": method, "path": path}))
        if verdict.requires_approval and not approved:
            raise PermissionDenied(f"{kind} on {target} needs a person's approval before it runs")
        response = self._request(method, "/api/v2" + path, params=params, json=json, headers=headers, retry_auth=True)
        return response.json() if response.content else {}

    def _request(self, method: str, url: str, *, retry_auth: bool, headers: Mapping[str, str] | None = None,
                 **kwargs: Any) -> Any:
        import httpx

        sent = {"Authorization": f"Bearer {self._bearer()}", **(headers or {})}
        try:
            response = self._http.request(method, url, headers=sent, **kwargs)
        except httpx.TimeoutException as exc:
            raise AirflowApiError(f"{method} {url} timed out after {self._http.timeout.read}s: {exc}") from exc
        except httpx.HTTPError as exc:
            raise AirflowApiError(f"{method} {url} failed: {exc}; is the api-server at "
                                  f"{self.credentials.base_url} up?") from exc
        if response.status_code == 401 and retry_auth and self.credentials.password:
            self._token = None  # an expired JWT: log in once more
            return self._request(method, url, retry_auth=False, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(f"{method} {url} answered {response.status_code}: {response.text[:300]}",
                                  status=response.status_code)
        return response

    def _bearer(self) -> str:
        if self._token:
            return self._token
        import httpx

        creds = self.credentials
        try:
            resp = self._http.post("/auth/token", json={"username": creds.username, "password": creds.password})
        except httpx.HTTPError as exc:
            raise AirflowApiError(f"logging in to {creds.base_url} failed: {exc}") from exc
        if resp.status_code not in (200, 201) or "access_token" not in resp.text:
            raise AirflowApiError(f"logging in to {creds.base_url} as {creds.username!r} failed: "
                                  f"{resp.status_code} {resp.text[:200]}; check the connection's login and password",
                                  status=resp.status_code)
        self._token = str(resp.json()["access_token"])
        register_secret(self._token)  # a JWT is a credential: never in an error text, event or outcome
        return self._token

