"""Whatever JSON a server sends, the parsers answer with a result or the tool's own error."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stt_cli.errors import SttError
from stt_cli.http import error_message, parse_retry_after
from stt_cli.providers.aiml import parse_job_id, parse_job_state
from stt_cli.providers.base import COMPLETED, FAILED, PENDING

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
job_like = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["queued", "generating", "completed", "error", "failed", "waiting", "", "DONE"])
        | json_values,
        "result": json_values, "output": json_values, "error": json_values,
        "generation_id": json_values, "id": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=json_values | job_like)
def test_job_state_parser_never_crashes(body: Any):
    try:
        state = parse_job_state(body, "job-1")
    except SttError:
        return
    assert state.state in (PENDING, COMPLETED, FAILED)
    if state.state == COMPLETED:
        assert state.result is not None
    if state.state == FAILED:
        assert isinstance(state.error, str) and state.error


@settings(max_examples=300, deadline=None)
@given(body=json_values | job_like)
def test_job_id_parser_never_crashes(body: Any):
    try:
        job_id = parse_job_id(body)
    except SttError:
        return
    assert isinstance(job_id, str) and job_id


@settings(max_examples=300, deadline=None)
@given(body=json_values)
def test_error_message_is_text_or_none(body: Any):
    message = error_message(body)
    assert message is None or isinstance(message, str)


@given(value=st.text(max_size=40))
def test_retry_after_never_crashes(value: str):
    delay = parse_retry_after({"retry-after": value})
    assert delay is None or delay >= 0


def test_statuses():
    assert parse_job_state({"status": "waiting"}, "j").state == PENDING
    assert parse_job_state({"status": "completed", "output": {"text": "hi"}}, "j").result == {"text": "hi"}
    failed = parse_job_state({"status": "error", "error": {"name": "E", "message": "bad audio"}}, "j")
    assert (failed.state, failed.error) == (FAILED, "bad audio")
    assert parse_job_state({"status": "failed", "error": None}, "j").error == "no reason given"


def test_error_shapes():
    assert error_message({"message": ["a must be set", "b is bad"], "statusCode": 400}) == "a must be set; b is bad"
    assert error_message({"error": {"message": "Invalid file format.", "type": "invalid_request_error"}}) == \
        "Invalid file format."
    assert error_message({"error": "model not loaded"}) == "model not loaded"
    assert error_message({"detail": [{"loc": ["body", "file"], "msg": "field required"}]}) == "file: field required"
    assert error_message({"detail": {"error": {"message": "nested"}}}) == "nested"
    assert error_message({"object": "error", "message": "flat"}) == "flat"
