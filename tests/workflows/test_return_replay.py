"""Recorded return histories replay against today's ReturnWorkflow: returns that were running before the refund
clock (`return-refund-clock`) finish as they began, and ones recorded with it replay too. Record them with
`BATON_RECORD_RETURN_HISTORIES=<name> ./baton test tests/workflows/test_return_replay.py -k record` (a name ending
`-before-refund-clock` was recorded with the code before the patch)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support import CHANNEL, HO, collect, eventually, make_ready, place
from workflows.client import DATA_CONVERTER
from workflows.returns import ReturnWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "returns"
RECORD_AS = os.environ.get("BATON_RECORD_RETURN_HISTORIES", "")


def _recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
async def test_recorded_return_history_replays(path: Path):
    recorded = json.loads(path.read_text())
    history = WorkflowHistory.from_json(path.stem.split("@")[0], recorded)
    await Replayer(workflows=[ReturnWorkflow], data_converter=DATA_CONVERTER).replay_workflow(history)


def test_return_histories_are_recorded():
    stems = [path.stem for path in _recorded()]
    assert any(stem.endswith("before-refund-clock") for stem in stems), "a return from before the refund clock"
    assert any(not stem.endswith("before-refund-clock") for stem in stems), "a return with the refund clock"


@pytest.mark.skipif(not RECORD_AS, reason="set BATON_RECORD_RETURN_HISTORIES=<name> to record a return history")
async def test_record_a_return_received_inspected_and_refunded(stack):
    http = stack.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    body = {"lines": [{"line_id": "L1", "quantity": 2, "reason": "too small"}], "location_id": "S001"}
    return_id = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    inspection = {"lines": [{"line_id": "L1", "accepted": 1, "written_off": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success
    handle = stack.client.get_workflow_handle(return_id)
    await eventually(lambda: _finished(handle), timeout=30)
    history = await handle.fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"{return_id}@{RECORD_AS}.json").write_text(history.to_json())


async def _finished(handle) -> bool:  # type: ignore[no-untyped-def]
    return (await handle.describe()).status.name == "COMPLETED"
