"""Parsing runs:/ and models:/ URIs: every accepted shape, and hostile or malformed ones refused."""

from __future__ import annotations

import pytest

from cairn.entities import ModelStage
from cairn.errors import InvalidArgument
from cairn.registry.model_uris import (
    LoggedModelUri,
    RegisteredModelUri,
    RunModelUri,
    is_model_uri,
    parse_model_uri,
)

RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"runs:/{RUN}/model", RunModelUri(RUN, "model")),
        (f"runs:/{RUN}/models/sub/dir", RunModelUri(RUN, "models/sub/dir")),
        (f"runs:/{RUN}", RunModelUri(RUN, "")),
        (f"models:/m-{RUN}", LoggedModelUri(f"m-{RUN}")),
        ("models:/fraud/3", RegisteredModelUri("fraud", version=3)),
        ("models:/fraud@champion", RegisteredModelUri("fraud", alias="champion")),
        ("models:/fraud/latest", RegisteredModelUri("fraud")),
        ("models:/fraud/Production", RegisteredModelUri("fraud", stage=ModelStage.PRODUCTION)),
        ("models:/fraud/staging", RegisteredModelUri("fraud", stage=ModelStage.STAGING)),
        ("models:/my model.v2@prod-1", RegisteredModelUri("my model.v2", alias="prod-1")),
    ],
)
def test_accepted_shapes(uri: str, expected: object) -> None:
    assert is_model_uri(uri)
    assert parse_model_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/model",
        "/tmp/model",
        "runs:/not-a-run-id/model",
        f"runs:/{RUN}/../../etc/passwd",
        f"runs:/{RUN}/%2e%2e/%2e%2e/secret",
        f"runs:/{RUN}/a\\..\\b",
        f"runs:/{RUN}/model?x=1",
        f"runs:/{RUN}/model#frag",
        f"runs:/{RUN}/mo\x00del",
        "models:/fraud",
        "models:/fraud/0",
        "models:/fraud/-1",
        "models:/fraud/3.5",
        "models:/fraud/Champion-ish",
        "models:/@champion",
        "models:/fraud@",
        "models:/a/b/3",
        "models://host/fraud/1",
        "models:/fraud@a/b",
    ],
)
def test_malformed_or_hostile_uris_are_refused_naming_the_uri(uri: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_model_uri(uri)
    assert "model_uri" in caught.value.message
