"""core.redaction: registered secrets and secret-shaped values are scrubbed from every text we build."""

from __future__ import annotations

import secrets

import pytest

from airflow_aimod.core import redaction
from airflow_aimod.core.redaction import MASK, redact_url, register_secret, scrub, scrub_data


@pytest.fixture
def key() -> str:
    value = "k-" + secrets.token_hex(12)
    register_secret(value)
    return value


def test_a_registered_secret_is_replaced_wherever_it_appears(key):
    text = f"Error code: 401 - {{'error': {{'message': 'bad key {key}', 'key': '{key}'}}}}"
    assert key not in scrub(text) and scrub(text).count(MASK) >= 2


def test_nested_values_are_scrubbed_and_keep_their_shape(key):
    value = {"reason": f"failed: {key}", "events": [{"data": {"error": key, "n": 3}}], "t": (key, 1), "ok": None}
    scrubbed = scrub_data(value)
    assert key not in repr(scrubbed)
    assert scrubbed["events"][0]["data"]["n"] == 3 and isinstance(scrubbed["t"], tuple) and scrubbed["ok"] is None
    assert value["reason"].endswith(key), "the input is not modified"


@pytest.mark.parametrize(("text", "hidden"), [
    ("postgresql://agent:s3cr3t-pw@db:5432/wh", "s3cr3t-pw"),
    ("could not connect: password=hunter2-x host=db", "hunter2-x"),
    ("{'Authorization': 'Bearer abcdefghijklmnop'}", "abcdefghijklmnop"),
    ("authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("sent header Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9.payload.sig"),
    ('{"api_key": "live-123456789"}', "live-123456789"),
    ("client_secret=abcdef123456&grant=x", "abcdef123456"),
    ("Incorrect API key provided: sk-proj-AbCdEf0123456789xyz", "sk-proj-AbCdEf0123456789xyz"),
])
def test_secret_shaped_values_are_scrubbed_without_registration(text, hidden):
    assert hidden not in scrub(text) and MASK in scrub(text)


@pytest.mark.parametrize("text", [
    "agent sql_agent finished with status answered: 3 row(s)",
    "LLM call timed out: it passed its 60 s deadline",
    "budget: 900 of 1000 tokens used (max_output_tokens=1024, input_tokens: 50)",
    "SELECT email FROM users WHERE token_count > 3",
    "http://127.0.0.1:8080/v1",
])
def test_ordinary_text_is_left_alone(text):
    assert scrub(text) == text


def test_short_values_are_not_registered_like_airflow_s_masker():
    before = redaction.registered_count()
    register_secret("abc")
    register_secret("")
    register_secret(None)
    assert redaction.registered_count() == before
    assert scrub("abc abc") == "abc abc"


def test_mappings_and_sequences_register_their_strings():
    first, second = "m-" + secrets.token_hex(8), "s-" + secrets.token_hex(8)
    register_secret({"password": first, "nested": [second, 5]})
    assert first not in scrub(f"{first} {second}") and second not in scrub(second)


def test_a_longer_secret_containing_a_shorter_one_is_replaced_whole():
    short, long = "abcdef" + secrets.token_hex(4), None
    long = short + "-suffix-" + secrets.token_hex(4)
    register_secret(short)
    register_secret(long)
    assert scrub(f"x {long} y") == f"x {MASK} y"


def test_redact_url_hides_only_the_password():
    assert redact_url("postgresql://aimod:pw-1234@db.example:5432/store") == "postgresql://aimod:***@db.example:5432/store"
    assert redact_url("sqlite:////tmp/store.sqlite") == "sqlite:////tmp/store.sqlite"
    assert redact_url("postgresql://aimod@db/store") == "postgresql://aimod@db/store"


def test_non_strings_pass_through():
    assert scrub(None) is None and scrub(5) == 5 and scrub_data(3.5) == 3.5
