"""Traffic policies on batched requests and on the Open Inference Protocol, and the versioned /v2 routes."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from scoring_server import serving
from sklearn.linear_model import LogisticRegression

from cairn.models import LoadedModel, load_model, save_model
from cairn.serving.app import BatchingOptions, create_scoring_app
from cairn.serving.model_slot import ModelSlot
from cairn.serving.traffic import TrafficPolicy, TrafficRouter

NAME = "churn"
CHAMPION_LABELS = [0, 0, 0, 1, 1, 1]
CHALLENGER_LABELS = [1, 1, 1, 0, 0, 0]
BATCHING = BatchingOptions(max_batch_size=32, max_wait_ms=20)


@pytest.fixture(scope="module")
def flipped_model(tmp_path_factory: pytest.TempPathFactory, features: pd.DataFrame) -> LoadedModel:
    """A classifier answering the opposite of the `sklearn_model` fixture, to tell who answered."""
    model = LogisticRegression().fit(features, CHALLENGER_LABELS)
    path = tmp_path_factory.mktemp("routes") / "flipped"
    save_model(model, path, input_example=features.head(2))
    return load_model(path)


@pytest.fixture
def routers() -> Iterator[list[TrafficRouter]]:
    """Routers to close when the test ends (their shadow workers are threads)."""
    made: list[TrafficRouter] = []
    yield made
    for router in made:
        router.close()


def _router(
    routers: list[TrafficRouter],
    champion: LoadedModel,
    challenger: LoadedModel,
    policy: TrafficPolicy,
    seed: int = 5,
) -> TrafficRouter:
    router = TrafficRouter(ModelSlot(champion, "1"), ModelSlot(challenger, "2"), policy, seed=seed)
    routers.append(router)
    return router


def _row_body(features: pd.DataFrame, index: int) -> dict[str, Any]:
    return {"dataframe_split": features.iloc[[index]].to_dict(orient="split")}


def _infer_body(features: pd.DataFrame) -> dict[str, Any]:
    inputs = [
        {"name": str(c), "shape": [len(features)], "datatype": "FP64", "data": features[c].tolist()}
        for c in features.columns
    ]
    return {"inputs": inputs}


def _counter(metrics: str, name: str, label: str, value: str) -> float:
    match = re.search(rf'{name}_total{{{label}="{value}"}} (\S+)', metrics)
    return 0.0 if match is None else float(match.group(1))


def _concurrently(http: httpx.Client, features: pd.DataFrame, count: int) -> dict[int, httpx.Response]:
    """`count` single-row requests from as many threads at once; request i sends row i % 6."""
    answers: dict[int, httpx.Response] = {}
    start = threading.Barrier(count)

    def ask(index: int) -> None:
        start.wait()
        answers[index] = http.post("/invocations", json=_row_body(features, index % len(features)))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_batched_canary_routes_each_request_before_batching_and_keeps_the_seeded_count(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    policy = TrafficPolicy(mode="canary", challenger_share=0.3)
    router = _router(routers, sklearn_model, flipped_model, policy, seed=11)
    draws = random.Random(11)
    expected_challenger = sum(draws.random() < 0.3 for _ in range(48))
    app = create_scoring_app(router.champion, model_name=NAME, batching=BATCHING, router=router)
    with serving(app) as http:
        answers = _concurrently(http, features, 48)
        metadata = http.get("/metadata").json()
        metrics = http.get("/metrics").text
    arms = []
    for index, answer in answers.items():
        assert answer.status_code == 200, answer.text
        [label] = answer.json()["predictions"]
        row = index % len(features)
        assert label in (CHAMPION_LABELS[row], CHALLENGER_LABELS[row])  # one model's answer, never a mix
        arms.append("challenger" if label == CHALLENGER_LABELS[row] else "champion")
    assert arms.count("challenger") == expected_challenger
    assert 0 < expected_challenger < 48
    assert metadata["traffic"]["requests"]["challenger"] == expected_challenger
    assert metadata["traffic"]["requests"]["champion"] == 48 - expected_challenger
    served_by = "cairn_serving_traffic_requests"
    assert _counter(metrics, served_by, "served_by", "challenger") == expected_challenger
    assert _counter(metrics, served_by, "served_by", "champion") == 48 - expected_challenger
    champion_rows = re.search(r'cairn_serving_batch_rows_sum\{model_version="1"\} (\S+)', metrics)
    assert champion_rows is not None and float(champion_rows.group(1)) == 48 - expected_challenger
    challenger_batches = re.findall(r'cairn_serving_challenger_batches_total\{reason="\w+"\} (\S+)', metrics)
    assert 1 <= sum(map(float, challenger_batches)) <= expected_challenger


def test_batched_shadow_answers_from_the_champion_and_copies_every_request(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    router = _router(routers, sklearn_model, flipped_model, TrafficPolicy(mode="shadow"))
    app = create_scoring_app(router.champion, model_name=NAME, batching=BATCHING, router=router)
    with serving(app) as http:
        answers = _concurrently(http, features, 20)
        assert router.flush()
        metrics = http.get("/metrics").text
    for index, answer in answers.items():
        assert answer.json() == {"predictions": [CHAMPION_LABELS[index % len(features)]]}
    counts = router.status()["requests"]
    assert counts == {"champion": 20, "challenger": 20, "challenger_errors": 0, "shadow_dropped": 0}
    assert _counter(metrics, "cairn_serving_traffic_requests", "served_by", "shadow") == 20
    assert _counter(metrics, "cairn_serving_traffic_requests", "served_by", "challenger") == 0


def test_a_failing_batched_canary_is_rolled_back(
    sklearn_model: LoadedModel,
    broken_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    """One at a time: the first 4 requests drawn for the broken challenger get 500, then it is rolled back."""
    policy = TrafficPolicy(
        mode="canary", challenger_share=0.5, max_error_rate=0.05, window=10, min_requests=4
    )
    router = _router(routers, sklearn_model, broken_model, policy, seed=3)
    draws = random.Random(3)
    expected, challenged = [], 0
    for _ in range(30):
        to_challenger = draws.random() < 0.5 and challenged < 4
        challenged += to_challenger
        expected.append(500 if to_challenger else 200)
    app = create_scoring_app(router.champion, batching=BATCHING, router=router)
    with serving(app) as http:
        answers = [http.post("/invocations", json=_row_body(features, 0)) for _ in range(30)]
        health = http.get("/health")
    assert [answer.status_code for answer in answers] == expected
    assert "the model broke" in next(a for a in answers if a.status_code == 500).json()["message"]
    assert health.status_code == 200
    status = router.status()
    assert status["rolled_back"] is True and status["requests"]["challenger_errors"] == 4
    assert [d["decision"] for d in status["decisions"]] == ["start", "rollback"]
    assert "challenger version 2 gets no more traffic" in status["decisions"][1]["reason"]


def test_infer_goes_through_the_router(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    router = _router(
        routers, sklearn_model, flipped_model, TrafficPolicy(mode="canary", challenger_share=0.4)
    )
    draws = random.Random(5)
    expected = ["2" if draws.random() < 0.4 else "1" for _ in range(30)]
    app = create_scoring_app(router.champion, model_name=NAME, router=router)
    with serving(app) as http:
        bad = http.post(f"/v2/models/{NAME}/infer", json={"inputs": []})  # refused before it is routed
        answers = [http.post(f"/v2/models/{NAME}/infer", json=_infer_body(features)) for _ in range(30)]
    assert bad.status_code == 400
    assert [answer.json()["model_version"] for answer in answers] == expected
    for answer in answers:
        [output] = answer.json()["outputs"]
        wanted = CHALLENGER_LABELS if answer.json()["model_version"] == "2" else CHAMPION_LABELS
        assert output["data"] == wanted
    assert router.status()["requests"]["challenger"] == expected.count("2")


def test_versioned_routes_answer_for_the_champion_and_the_challenger(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    policy = TrafficPolicy(mode="canary", challenger_share=0.0)
    router = _router(routers, sklearn_model, flipped_model, policy)
    app = create_scoring_app(router.champion, model_name=NAME, router=router)
    base = f"/v2/models/{NAME}/versions"
    with serving(app) as http:
        listing = http.get(f"/v2/models/{NAME}").json()
        metadata = http.get(f"{base}/2").json()
        ready = http.get(f"{base}/1/ready")
        on_challenger = http.post(f"{base}/2/infer", json=_infer_body(features)).json()
        on_champion = http.post(f"{base}/1/infer", json=_infer_body(features)).json()
        unknown = [
            http.get(f"{base}/3"),
            http.get(f"{base}/3/ready"),
            http.post(f"{base}/3/infer", json=_infer_body(features)),
        ]
        other_model = http.get("/v2/models/other/versions/1")
    assert listing["versions"] == ["1", "2"]
    assert metadata["name"] == NAME and metadata["versions"] == ["2"]
    assert [i["name"] for i in metadata["inputs"]] == ["a", "b"]
    assert ready.json() == {"name": NAME, "version": "1", "ready": True}
    assert on_challenger["model_version"] == "2"
    assert on_challenger["outputs"][0]["data"] == CHALLENGER_LABELS
    assert on_champion["model_version"] == "1"
    assert on_champion["outputs"][0]["data"] == CHAMPION_LABELS
    for answer in unknown:
        assert answer.status_code == 404
        assert answer.json()["error"] == (
            f"model '{NAME}' has no version '3' served here; versions served: 1, 2"
        )
    assert other_model.status_code == 404 and "'other' is not served here" in other_model.json()["error"]
    assert router.status()["requests"] == {
        "champion": 1,
        "challenger": 1,
        "challenger_errors": 0,
        "shadow_dropped": 0,
    }


def test_versioned_routes_without_a_router_and_after_a_rollback(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    routers: list[TrafficRouter],
) -> None:
    policy = TrafficPolicy(mode="canary", challenger_share=1.0, max_p99_ms=1e-9, window=2, min_requests=1)
    router = _router(routers, sklearn_model, flipped_model, policy)
    with serving(create_scoring_app(router.champion, model_name=NAME, router=router)) as http:
        http.post("/invocations", json=_row_body(features, 0))  # the challenger answers, then is rolled back
        gone = http.get(f"/v2/models/{NAME}/versions/2")
        listing = http.get(f"/v2/models/{NAME}").json()
    assert router.rolled_back
    assert gone.status_code == 404 and "versions served: 1" in gone.json()["error"]
    assert listing["versions"] == ["1"]
    with serving(create_scoring_app(ModelSlot(sklearn_model, "4"), model_name=NAME)) as http:
        served = http.post(f"/v2/models/{NAME}/versions/4/infer", json=_infer_body(features)).json()
        missing = http.get(f"/v2/models/{NAME}/versions/1/ready")
    assert served["model_version"] == "4" and served["outputs"][0]["data"] == CHAMPION_LABELS
    assert missing.status_code == 404
    with serving(create_scoring_app(sklearn_model, model_name=NAME)) as http:  # a local package: no version
        local = http.get(f"/v2/models/{NAME}/versions/1")
    assert local.status_code == 404
    assert "versions served: none (the model is not from the registry)" in local.json()["error"]
