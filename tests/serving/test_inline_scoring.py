"""Short requests are scored on the event loop once the model is measured to be fast; others on threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest
from scoring_server import serving

from cairn.errors import InvalidArgument
from cairn.models import LoadedModel
from cairn.serving.app import create_scoring_app
from cairn.serving.inline_gate import INLINE_LIMIT_S, InlineGate
from cairn.serving.invocations_route import INLINE_BODY_BYTES
from cairn.serving.model_slot import ModelSlot


def test_the_gate_opens_only_for_measured_fast_compute_only_models() -> None:
    gate = InlineGate("sklearn")
    assert not gate.allows()  # nothing measured yet
    gate.observe(INLINE_LIMIT_S / 4)
    assert gate.allows()
    python_function = InlineGate("python_function")  # its code may wait on I/O
    python_function.observe(INLINE_LIMIT_S / 4)
    assert not python_function.allows()


def test_one_slow_request_closes_the_gate_and_fast_ones_reopen_it() -> None:
    gate = InlineGate("xgboost")
    for _ in range(20):
        gate.observe(INLINE_LIMIT_S / 10)
    gate.observe(INLINE_LIMIT_S * 30)
    assert not gate.allows()
    for _ in range(60):
        gate.observe(INLINE_LIMIT_S / 10)
    assert gate.allows()


class ThreadRecording(LoadedModel):
    """The served package, noting the thread each prediction ran on."""

    def __init__(self, model: LoadedModel) -> None:
        super().__init__(model.spec, model._predictor, model.path)
        self.threads: list[str] = []

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().predict(data, params)


def test_small_requests_move_to_the_event_loop_and_large_ones_stay_on_threads(
    sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    model = ThreadRecording(sklearn_model)
    slot = ModelSlot(model)
    expected = [int(value) for value in sklearn_model.predict(features)]
    small = json.dumps({"dataframe_split": features.to_dict(orient="split")})
    many = pd.concat([features] * (2 * INLINE_BODY_BYTES // len(small) + 1), ignore_index=True)
    large = json.dumps({"dataframe_split": many.to_dict(orient="split")})
    assert len(large) > INLINE_BODY_BYTES
    headers = {"Content-Type": "application/json"}
    # A generous limit: which side of the default 2 ms this machine's timings fall must not decide the test.
    with serving(create_scoring_app(slot, inline_limit_ms=1000)) as client:
        for _ in range(3):
            response = client.post("/invocations", content=small, headers=headers)
            assert response.json()["predictions"] == expected
        gate = slot.current().inline
        assert gate is not None and gate.allows()
        assert model.threads[0] != "scoring-server"  # the first request, unmeasured, ran on a thread
        assert model.threads[-1] == "scoring-server"  # the loop's thread, once measured fast

        before = len(model.threads)
        assert client.post("/invocations", content=large, headers=headers).status_code == 200
        assert model.threads[before] != "scoring-server"

        bad = client.post("/invocations", content='{"dataframe_split": 3}', headers=headers)
        assert bad.status_code == 400  # refused on the loop like on a thread
        response = client.post("/invocations", content=small, headers=headers)
        assert response.json()["predictions"] == expected


def test_a_zero_limit_keeps_every_request_on_threads(
    sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    model = ThreadRecording(sklearn_model)
    small = json.dumps({"dataframe_split": features.to_dict(orient="split")})
    with serving(create_scoring_app(ModelSlot(model), inline_limit_ms=0)) as client:
        for _ in range(5):
            response = client.post(
                "/invocations", content=small, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 200
    assert len(model.threads) == 5 and "scoring-server" not in model.threads


def test_a_negative_limit_is_refused(sklearn_model: LoadedModel) -> None:
    with pytest.raises(InvalidArgument, match="inline_limit_ms"):
        create_scoring_app(sklearn_model, inline_limit_ms=-1)
