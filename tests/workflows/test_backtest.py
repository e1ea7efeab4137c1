"""`./baton backtest` against the dev server: orders with known acknowledgement times, replayed through a tighter
SLA, give a known number of alerts; the run shows its progress bar and writes its CSV and chart."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support import HO, place, store_says, wait_for_status

ROOT = Path(__file__).resolve().parent.parent.parent


async def _acknowledged_after(http, seconds: float) -> str:
    number = await place(http)
    await asyncio.sleep(seconds)
    await store_says(http, number, "acknowledged")
    await wait_for_status(http, number, "acknowledged")
    return number


def _waited(view: dict) -> timedelta:
    """How long the order waited for its acknowledgement, by its own history."""
    moves = {entry["to_status"]: datetime.fromisoformat(entry["at"]) for entry in view["history"] if entry["to_status"]}
    return moves.get("acknowledged", datetime.now(UTC)) - moves["awaiting_acknowledgement"]


async def test_a_tighter_acknowledgement_sla_replayed_over_recorded_orders(stack, database_url, tmp_path):
    http = stack.http
    slow = await _acknowledged_after(http, 3.5)
    quick = await _acknowledged_after(http, 0)
    waiting = await place(http)  # never acknowledged
    await asyncio.sleep(2.5)
    policy = (await http.get("/settings/sla", headers=HO)).json()
    (tmp_path / "sla.json").write_text(json.dumps({**policy, "not_acknowledged": 2}))
    payments = (await http.get("/settings/payments", headers=HO)).json()
    (tmp_path / "payments.json").write_text(json.dumps({**payments, "approval_channels": ["web"]}))
    # What a 2-second SLA would have raised, by each order's recorded timeline.
    views = {n: (await http.get(f"/orders/{n}", headers=HO)).json() for n in (slow, quick, waiting)}
    expected = sorted(n for n, view in views.items() if _waited(view) > timedelta(seconds=2))
    assert slow in expected and waiting in expected

    today = datetime.now(UTC).date()
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATON_")}
    env.update(BATON_TEMPORAL_ADDRESS=stack.client.service_client.config.target_host, BATON_DATABASE_URL=database_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "backtest.py", "--from", today.isoformat(), "--to", (today + timedelta(days=1)).isoformat(),
        "--sla", str(tmp_path / "sla.json"), "--payments", str(tmp_path / "payments.json"),
        "--csv", str(tmp_path / "out.csv"), "--chart", str(tmp_path / "out.png"),
        "--task-queue", stack.settings.task_queue,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    assert "reading order histories" in err.decode() and "3/3" in err.decode()  # the progress bar
    assert "3 orders placed" in out.decode()

    with (tmp_path / "out.csv").open() as rows:
        table = list(csv.DictReader(rows))
    (row,) = [r for r in table if r["alert"] == "not_acknowledged"]
    (held,) = [r for r in table if r["alert"] == "approval"]  # every one of them is a web order
    assert (int(held["today"]), int(held["proposed"])) == (0, 3)
    assert sorted(held["differing_orders"].split()) == sorted([slow, quick, waiting])
    assert (row["store_id"], int(row["today"]), int(row["proposed"])) == ("S001", 0, len(expected))
    assert sorted(row["differing_orders"].split()) == expected
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
