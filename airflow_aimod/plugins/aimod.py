"""``AimodPlugin``: registers the AiMod page with Airflow.

- ``fastapi_apps``: the dashboard app, mounted by the api-server under ``/aimod``.
- ``external_views``: a "AiMod" entry in the Airflow UI navigation showing ``/aimod/`` in the UI frame.

Importing this module (every Airflow process loads plugins) costs no FastAPI import: the app
is a small ASGI shim that builds the real app on its first request.
"""

from __future__ import annotations

import threading
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/aimod"


class _LazyApp:
    """ASGI app that builds ``airflow_aimod.plugins.api.create_app()`` on first use."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Any:
        with self._lock:
            if self._app is None:
                from airflow_aimod.plugins.api import create_app

                self._app = create_app()
        return self._app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


dashboard_app = _LazyApp()


class AimodPlugin(AirflowPlugin):
    """The AiMod page: agent health, business figures, pending approvals, request traces."""

    name = "aimod"
    fastapi_apps = [{"app": dashboard_app, "url_prefix": URL_PREFIX, "name": "AiMod dashboard"}]
    external_views = [{
        "name": "AiMod",
        "href": f"{URL_PREFIX}/",
        "url_route": "aimod",
        "destination": "nav",
        "category": "browse",
        "icon": f"{URL_PREFIX}/icon.svg",
    }]
