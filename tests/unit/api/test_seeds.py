"""Every JSON example of shared/seeds, copied verbatim into tests/fixtures/seeds, parses through the
clients; the copies are checked against the seeds themselves when shared/ is beside the repo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kievideo.api.http import Envelope
from kievideo.api.models import TaskState
from kievideo.api.runway import parse_record_detail
from kievideo.api.unified import parse_query
from kievideo.api.veo import parse_record_info

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "seeds"
SHARED = ROOT.parent / "shared" / "seeds"
VERBATIM = sorted(p for p in FIXTURES.glob("*.json") if ".transcribed." not in p.name)


def test_every_fixture_parses_as_json() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 9
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/seeds is not beside the repository")
@pytest.mark.parametrize("path", VERBATIM, ids=lambda p: p.name)
def test_fixture_is_verbatim_excerpt_of_its_seed(path: Path) -> None:
    prefix = path.name.split("_", 1)[0]
    (seed,) = SHARED.glob(f"{prefix}_*.txt")
    seed_text = seed.read_text(encoding="utf-8")
    text = path.read_bytes().decode("utf-8").rstrip("\n")  # bytes: keep the CRLFs of 001
    if path.name == "001_unified_query_completed.json":
        # the seed holds this JSON as an escaped string inside its examples block
        assert json.dumps(text, ensure_ascii=False) in seed_text
    else:
        assert text in seed_text


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/seeds is not beside the repository")
def test_no_json_example_of_the_seeds_is_missing() -> None:
    # Scan each seed for outermost JSON documents starting a line; each must be a fixture.
    decoder = json.JSONDecoder()
    fixtures = {p.read_text(encoding="utf-8").rstrip("\n") for p in VERBATIM}
    found = []
    for seed in sorted(SHARED.glob("*.txt")):
        text = seed.read_text(encoding="utf-8")
        pos = 0
        while (match := re.compile(r"^[ \t]*([{\[])", re.M).search(text, pos)) is not None:
            try:
                _, end = decoder.raw_decode(text, match.start(1))
            except ValueError:
                pos = match.end()
                continue
            block = text[match.start(1) : end]
            assert block in fixtures, f"{seed.name}: JSON example not copied: {block[:80]!r}"
            found.append(block)
            pos = end
    assert len(found) == len(VERBATIM) - 1  # the decoded inner example of 001 is the extra one


def _envelope(body: dict[str, Any]) -> Envelope:
    return Envelope(code=body["code"], msg=body["msg"], data=body["data"], raw=body, http_status=200)


def test_seed_000_veo_record_info() -> None:
    body = json.loads((FIXTURES / "000_veo_record_info_success.json").read_text(encoding="utf-8"))
    view = parse_record_info(_envelope(body).data, "veo_task_abcdef123456")
    assert view.state is TaskState.SUCCEEDED and view.video_urls == ("http://example.com/video1.mp4",)


def test_seed_001_unified_blocks() -> None:
    params = json.loads((FIXTURES / "001_unified_query_parameters.json").read_text(encoding="utf-8"))
    (id_param,) = params["query"]
    assert id_param["name"] == "id" and id_param["required"] is True
    sample = id_param["sampleValue"]
    examples = json.loads((FIXTURES / "001_unified_query_response_examples.json").read_text(encoding="utf-8"))
    inner = json.loads(examples[0]["data"])
    view = parse_query(inner, sample)
    assert view.task_id == sample and view.state is TaskState.SUCCEEDED
    schema = json.loads((FIXTURES / "001_unified_query_response_schema.json").read_text(encoding="utf-8"))
    assert set(schema[0]["jsonSchema"]["required"]) <= {
        "id",
        "status",
        "video_url",
        "enhanced_prompt",
        "status_update_time",
    }
    body = json.loads((FIXTURES / "001_unified_query_request_body.json").read_text(encoding="utf-8"))
    assert body["type"] == "multipart/form-data"  # the doc artefact the query ignores: no body is sent


def test_seed_002_runway_record_detail() -> None:
    body = json.loads((FIXTURES / "002_runway_record_detail_wait.json").read_text(encoding="utf-8"))
    view = parse_record_detail(_envelope(body).data, "x")
    assert view.state is TaskState.QUEUED and view.task_id == "ee603959-debb-48d1-98c4-a6d1c717eba6"
