"""An Airflow connection (conn type ``aimod_llm``) turned into a LangChain chat model.

Connection fields: host = base URL of any OpenAI-compatible server (optional),
password = API key, extra = ``backend`` ("openai" or "offline"), ``model``, ``timeout``
(seconds), ``max_retries``, ``temperature``, ``max_output_tokens``. Unknown extra keys
are refused, so a typo fails loudly instead of being ignored. LLM SDKs are imported
only when a model is built or the connection is tested.

``max_retries`` is the number of retries AiMod's own caller makes (with backoff inside
the token budget and the agent's deadline): the OpenAI client is built with
``max_retries=0`` so retries are never doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from airflow_aimod.core.llm.factory import LLMConfig, build_chat_model
from airflow_aimod.exceptions import ConfigurationError

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow without the task SDK
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

__all__ = ["OFFLINE", "AimodLLMHook", "resolve_llm", "resolve_llm_with_retries"]

OFFLINE = "offline"
CONN_TYPE = "aimod_llm"
TEST_TIMEOUT_S = 10.0

# extra key -> (LLMConfig field, type the value is coerced to)
EXTRA_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "backend": ("backend", str),
    "model": ("model", str),
    "timeout": ("timeout_s", float),
    "max_retries": ("max_retries", int),
    "temperature": ("temperature", float),
    "max_output_tokens": ("max_output_tokens", int),
}


class AimodLLMHook(BaseHook):
    """Build the chat model an ``aimod_llm`` connection describes; test it without a paid call."""

    conn_name_attr = "llm_conn_id"
    default_conn_name = "aimod_llm_default"
    conn_type = CONN_TYPE
    hook_name = "AiMod LLM"

    def __init__(self, *, llm_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm_conn_id = llm_conn_id if llm_conn_id is not None else self.default_conn_name

    @staticmethod
    def get_ui_field_behaviour() -> dict[str, Any]:
        """Connection form layout (Airflow < 3.2; later versions read it from provider info): ``llm_form``."""
        from airflow_aimod.hooks.llm_form import ui_field_behaviour

        return ui_field_behaviour()

    def llm_config(self) -> LLMConfig:
        """The validated model configuration the connection describes."""
        conn = self._connection()
        if conn.conn_type not in (None, "", CONN_TYPE):
            raise ConfigurationError(
                f"connection {self.llm_conn_id!r} has conn type {conn.conn_type!r}; LLM connections need "
                f"conn type {CONN_TYPE!r}"
            )
        options = {"backend": "openai", **_options_from_extra(self.llm_conn_id, conn.extra_dejson or {})}
        return LLMConfig(api_key=conn.password or None, base_url=_base_url(self.llm_conn_id, conn.host), **options)

    def get_chat_model(self) -> Any:
        """A LangChain chat model for the connection (SDKs are imported here); its client never retries."""
        return build_chat_model(replace(self.llm_config(), max_retries=0))

    def get_chat_model_and_retries(self) -> tuple[Any, int]:
        """The chat model and the connection's ``max_retries``, for AiMod's caller to make."""
        config = self.llm_config()  # one connection lookup
        return build_chat_model(replace(config, max_retries=0)), config.max_retries

    def test_connection(self) -> tuple[bool, str]:
        """Check the configuration and, for OpenAI, list the server's models (no completion is bought)."""
        try:
            config = self.llm_config()
        except ConfigurationError as exc:
            return False, str(exc)
        if config.backend == OFFLINE:
            return True, "offline engine: no network or API key needed"
        return _list_models(config)

    def _connection(self) -> Any:
        from airflow_aimod.hooks._connections import fetch_connection

        return fetch_connection(self.llm_conn_id, create_hint=(
            f"create it (conn type {CONN_TYPE}) or set llm_conn_id='{OFFLINE}' for the built-in engine "
            f"(e.g. AIRFLOW_CONN_{self.llm_conn_id.upper()}='{{\"conn_type\": \"{CONN_TYPE}\", \"password\": \"...\"}}')"))


def resolve_llm(llm: str) -> Any:
    """A chat model: ``"offline"`` needs no connection; anything else is an Airflow connection id."""
    if not llm or not isinstance(llm, str):
        raise ConfigurationError(f"llm must be an Airflow connection id or {OFFLINE!r}, got {llm!r}")
    if llm == OFFLINE:
        return build_chat_model(LLMConfig(backend=OFFLINE))
    return AimodLLMHook(llm_conn_id=llm).get_chat_model()


def resolve_llm_with_retries(llm: str) -> tuple[Any, int]:
    """``resolve_llm`` plus the retries the caller makes on 429/5xx/timeouts (offline: none are needed)."""
    if llm == OFFLINE or not llm or not isinstance(llm, str):
        return resolve_llm(llm), 0
    return AimodLLMHook(llm_conn_id=llm).get_chat_model_and_retries()


def _options_from_extra(conn_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    """LLMConfig keyword arguments from the connection's extra; unknown keys are an error."""
    prefix = f"extra__{CONN_TYPE}__"
    extra = {k.removeprefix(prefix): v for k, v in extra.items()}
    unknown = sorted(set(extra) - set(EXTRA_FIELDS))
    if unknown:
        raise ConfigurationError(
            f"connection {conn_id!r} has unknown extra keys {unknown}; known keys: {sorted(EXTRA_FIELDS)}"
        )
    options = {}
    for key, value in extra.items():
        if value is None or value == "":
            continue  # the UI stores empty fields as null or ""
        field, kind = EXTRA_FIELDS[key]
        try:
            options[field] = kind(value)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"connection {conn_id!r}: extra {key!r} must be a {kind.__name__}, got {value!r}"
            ) from None
    return options


def _base_url(conn_id: str, host: str | None) -> str | None:
    if not host:
        return None
    if "://" not in host:
        raise ConfigurationError(
            f"connection {conn_id!r}: host {host!r} must be a full base URL such as http://localhost:8000/v1"
        )
    return host.rstrip("/")


def _list_models(config: LLMConfig) -> tuple[bool, str]:
    """``GET /models`` on the configured server: proves the URL and the key without a paid call."""
    import time

    import openai

    from airflow_aimod.core.llm.deadline import deadline_at, deadline_http_client
    from airflow_aimod.core.redaction import scrub

    timeout_s = min(config.timeout_s, TEST_TIMEOUT_S)
    client = openai.OpenAI(api_key=config.api_key or "not-needed", base_url=config.base_url, timeout=timeout_s,
                           max_retries=0, http_client=deadline_http_client(timeout_s))
    where = str(client.base_url).rstrip("/")
    try:
        with deadline_at(time.monotonic() + timeout_s):
            models = [m.id for m in client.models.list()]
    except Exception as exc:
        return False, f"could not list models at {where}/models ({type(exc).__name__}): {scrub(str(exc))}"
    finally:
        client.close()
    note = "" if config.model in models else f"; model {config.model!r} is not among them"
    return True, f"reached {where}: {len(models)} models listed{note}"
