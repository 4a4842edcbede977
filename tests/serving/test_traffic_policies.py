"""Traffic policies between a champion and a challenger: canary shares, shadow copies, automatic rollback."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pandas as pd
import pytest
from scoring_server import serving
from sklearn.linear_model import LogisticRegression

from cairn.errors import InvalidArgument
from cairn.models import LoadedModel, load_model, save_model
from cairn.serving.app import create_scoring_app
from cairn.serving.model_slot import ModelSlot
from cairn.serving.traffic import TrafficPolicy, TrafficRouter

CHAMPION_LABELS = [0, 0, 0, 1, 1, 1]
CHALLENGER_LABELS = [1, 1, 1, 0, 0, 0]


@pytest.fixture(scope="module")
def flipped_model(tmp_path_factory: pytest.TempPathFactory, features: pd.DataFrame) -> LoadedModel:
    """A classifier answering the opposite of the `sklearn_model` fixture, to tell who answered."""
    model = LogisticRegression().fit(features, CHALLENGER_LABELS)
    path = tmp_path_factory.mktemp("traffic") / "flipped"
    save_model(model, path, input_example=features.head(2))
    return load_model(path)


class _Decisions:
    """Keeps every decision a router reports."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []

    def __call__(self, decision: str, reason: str) -> None:
        self.heard.append((decision, reason))

    def kinds(self) -> list[str]:
        return [decision for decision, _ in self.heard]


@pytest.fixture
def decisions() -> _Decisions:
    return _Decisions()


def _router(
    champion: LoadedModel,
    challenger: LoadedModel,
    policy: TrafficPolicy,
    decisions: _Decisions | None = None,
    seed: int = 7,
) -> TrafficRouter:
    return TrafficRouter(
        ModelSlot(champion, "1"), ModelSlot(challenger, "2"), policy, seed=seed, on_decision=decisions
    )


@pytest.fixture
def closing() -> Iterator[list[TrafficRouter]]:
    """Routers to close when the test ends (their shadow workers are threads)."""
    routers: list[TrafficRouter] = []
    yield routers
    for router in routers:
        router.close()


def _body(features: pd.DataFrame) -> dict[str, object]:
    return {"dataframe_split": features.to_dict(orient="split")}


def _counter(metrics: str, served_by: str) -> float:
    match = re.search(rf'cairn_serving_traffic_requests_total{{served_by="{served_by}"}} (\S+)', metrics)
    return 0.0 if match is None else float(match.group(1))


def test_canary_sends_the_seeded_share_to_the_challenger(
    sklearn_model: LoadedModel, flipped_model: LoadedModel, features: pd.DataFrame
) -> None:
    policy = TrafficPolicy(mode="canary", challenger_share=0.3)
    router = _router(sklearn_model, flipped_model, policy, seed=11)
    draws = random.Random(11)
    expected = ["challenger" if draws.random() < 0.3 else "champion" for _ in range(200)]
    served = []
    for _ in range(200):
        predictions, served_by = router.score(features, None)
        wanted = CHALLENGER_LABELS if served_by == "challenger" else CHAMPION_LABELS
        assert list(predictions) == wanted
        served.append(served_by)
    assert served == expected
    status = router.status()
    assert status["requests"]["challenger"] == expected.count("challenger")
    assert status["requests"]["champion"] == expected.count("champion")
    assert 0 < expected.count("challenger") < 200
    assert status["rolled_back"] is False
    assert [decision["decision"] for decision in status["decisions"]] == ["start"]


def test_shadow_answers_from_the_champion_while_the_challenger_scores_every_request(
    sklearn_model: LoadedModel,
    flipped_model: LoadedModel,
    features: pd.DataFrame,
    closing: list[TrafficRouter],
) -> None:
    router = _router(sklearn_model, flipped_model, TrafficPolicy(mode="shadow"))
    closing.append(router)
    app = create_scoring_app(router.champion, router=router)
    with serving(app) as http:
        answers = [http.post("/invocations", json=_body(features)) for _ in range(25)]
        assert router.flush()
        metadata = http.get("/metadata").json()
        metrics = http.get("/metrics").text
    assert [answer.status_code for answer in answers] == [200] * 25
    assert all(answer.json() == {"predictions": CHAMPION_LABELS} for answer in answers)
    traffic = metadata["traffic"]
    assert traffic["mode"] == "shadow" and traffic["challenger_version"] == "2"
    assert traffic["requests"] == {
        "champion": 25,
        "challenger": 25,
        "challenger_errors": 0,
        "shadow_dropped": 0,
    }
    assert _counter(metrics, "champion") == 25
    assert _counter(metrics, "shadow") == 25
    assert _counter(metrics, "challenger") == 0


def test_a_failing_shadow_never_reaches_a_client_and_is_rolled_back(
    sklearn_model: LoadedModel,
    broken_model: LoadedModel,
    features: pd.DataFrame,
    decisions: _Decisions,
    closing: list[TrafficRouter],
) -> None:
    policy = TrafficPolicy(mode="shadow", max_error_rate=0.5, window=10, min_requests=5)
    router = _router(sklearn_model, broken_model, policy, decisions)
    closing.append(router)
    answers = [router.score(features, None) for _ in range(30)]
    assert router.flush()
    assert all(list(predictions) == CHAMPION_LABELS and by == "champion" for predictions, by in answers)
    status = router.status()
    assert status["rolled_back"] is True
    assert status["requests"]["challenger"] == 5 and status["requests"]["challenger_errors"] == 5
    assert decisions.kinds() == ["start", "rollback"]
    assert "error rate 1.000 over the last 5 requests exceeds 0.5" in decisions.heard[1][1]


def test_a_failing_canary_is_rolled_back_and_then_gets_no_traffic(
    sklearn_model: LoadedModel, broken_model: LoadedModel, features: pd.DataFrame, decisions: _Decisions
) -> None:
    """Requests routed to the challenger before the rollback answer 500; every request after it, 200."""
    policy = TrafficPolicy(
        mode="canary", challenger_share=0.5, max_error_rate=0.05, window=10, min_requests=4
    )
    router = _router(sklearn_model, broken_model, policy, decisions, seed=3)
    draws = random.Random(3)
    expected, challenged = [], 0
    for _ in range(40):  # the first 4 draws under 0.5 go to the broken challenger; then it is rolled back
        to_challenger = draws.random() < 0.5 and challenged < 4
        challenged += to_challenger
        expected.append(500 if to_challenger else 200)
    app = create_scoring_app(router.champion, router=router)
    with serving(app) as http:
        answers = [http.post("/invocations", json=_body(features)) for _ in range(40)]
        metadata = http.get("/metadata").json()
        metrics = http.get("/metrics").text
    assert [answer.status_code for answer in answers] == expected
    last_failure = max(i for i, status in enumerate(expected) if status == 500)
    assert all(answer.json() == {"predictions": CHAMPION_LABELS} for answer in answers[last_failure + 1 :])
    assert "the model broke" in answers[last_failure].json()["message"]
    assert decisions.kinds() == ["start", "rollback"]
    traffic = metadata["traffic"]
    assert traffic["rolled_back"] is True and traffic["challenger_share"] == 0.0
    assert traffic["requests"]["challenger"] == 4 and traffic["requests"]["challenger_errors"] == 4
    assert [decision["decision"] for decision in traffic["decisions"]] == ["start", "rollback"]
    assert _counter(metrics, "champion") == 36
    assert _counter(metrics, "challenger") == 0


def test_a_canary_over_its_latency_bound_is_rolled_back(
    sklearn_model: LoadedModel, flipped_model: LoadedModel, features: pd.DataFrame, decisions: _Decisions
) -> None:
    """A p99 bound no real prediction meets: the challenger answers min_requests, then stops."""
    policy = TrafficPolicy(mode="canary", challenger_share=1.0, max_p99_ms=1e-9, window=5, min_requests=3)
    router = _router(sklearn_model, flipped_model, policy, decisions)
    served = [router.score(features, None)[1] for _ in range(10)]
    assert served == ["challenger"] * 3 + ["champion"] * 7
    assert decisions.kinds() == ["start", "rollback"]
    assert "p99 latency" in decisions.heard[1][1]


def test_a_policy_reads_from_yaml() -> None:
    text = """
mode: canary
challenger_share: 0.1
rollback:
  max_error_rate: 0.05
  max_p99_ms: 250
  window: 50
  min_requests: 10
"""
    assert TrafficPolicy.from_yaml(text) == TrafficPolicy(
        mode="canary", challenger_share=0.1, max_error_rate=0.05, max_p99_ms=250.0, window=50, min_requests=10
    )
    assert TrafficPolicy.from_yaml("mode: shadow") == TrafficPolicy(mode="shadow")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mode: [", "not valid YAML"),
        ("- canary", "traffic policy must be a mapping"),
        ("mode: blue", "mode must be one of canary, shadow; got 'blue'"),
        ("challenger_share: 0.1", "mode must be one of"),
        ("mode: canary\nshare: 0.1", "unknown traffic policy field(s) share"),
        ("mode: canary\nchallenger_share: lots", "challenger_share must be a number, got 'lots'"),
        ("mode: canary\nchallenger_share: 1.5", "challenger_share must be between 0 and 1, got 1.5"),
        ("mode: shadow\nchallenger_share: 0.5", "challenger_share applies to canary mode only"),
        ("mode: canary\nrollback: 3", "rollback must be a mapping"),
        ("mode: canary\nrollback: {window: true}", "rollback.window must be an integer, got True"),
        ("mode: canary\nrollback: {max_p99: 3}", "unknown traffic policy field(s) rollback.max_p99"),
        ("mode: canary\nrollback: {max_error_rate: x}", "rollback.max_error_rate must be a number"),
        ("mode: canary\nrollback: {max_error_rate: 1.5}", "max_error_rate must be at least 0 and below 1"),
        ("mode: canary\nrollback: {max_p99_ms: 0}", "max_p99_ms must be more than zero"),
        (
            "mode: canary\nrollback: {window: 5, min_requests: 6}",
            "min_requests must be between 1 and window (5)",
        ),
    ],
)
def test_a_bad_yaml_policy_names_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        TrafficPolicy.from_yaml(text)


def test_the_app_checks_its_router(sklearn_model: LoadedModel, flipped_model: LoadedModel) -> None:
    router = _router(sklearn_model, flipped_model, TrafficPolicy(mode="canary", challenger_share=0.1))
    with pytest.raises(InvalidArgument, match="router's champion"):
        create_scoring_app(ModelSlot(sklearn_model, "1"), router=router)
    with pytest.raises(InvalidArgument, match="two different ModelSlots"):
        TrafficRouter(router.champion, router.champion, router.policy)
