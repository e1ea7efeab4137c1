"""The store link monitor: a store going silent and coming back (time skipping), and continue-as-new."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from models.order import store_link_workflow_id
from models.store_link import LinkState, StoreLink, StoreLinkInput
from tests.api.test_store_links import heartbeat_event
from tests.support import CHANNEL, HO, eventually, order_body, post_store_event, wait_for_status
from workflows.store_link import StoreLinkWorkflow


async def _heartbeat(stack, store_id: str = "S001") -> None:
    response = await post_store_event(stack.http, store_id, heartbeat_event())
    assert response.status_code == 202, response.text


async def _link(stack, store_id: str = "S001") -> dict:
    return (await stack.http.get(f"/stores/{store_id}/link", headers=HO)).json()


async def _link_becomes(stack, state: str, changes: int) -> dict:
    async def check():
        link = await _link(stack)
        return link if link["state"] == state and len(link["changes"]) == changes else None

    return await eventually(check)


async def _place(stack, store_id: str = "S001"):
    return await stack.http.post("/orders", json=order_body(store_id), headers=CHANNEL)


async def _open_alerts(stack, number: str) -> list[str]:
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    return [a["type"] for a in view["alerts"] if a["cleared_at"] is None]


async def test_store_going_silent_goes_offline_refuses_orders_alerts_them_and_comes_back(skipping_stack):
    stack = skipping_stack
    placed = await _place(stack)
    assert placed.status_code == 201, placed.text
    number = placed.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    elsewhere = (await _place(stack, "S002")).json()["order_number"]
    await wait_for_status(stack.http, elsewhere, "awaiting_acknowledgement")

    await _heartbeat(stack)
    await _link_becomes(stack, "online", 1)
    await stack.env.sleep(timedelta(minutes=9))
    await _heartbeat(stack)  # moves the deadline: the timer fires early at 10 minutes and re-arms
    await stack.env.sleep(timedelta(minutes=9))
    link = await _link(stack)
    assert link["state"] == "online", link
    assert await _open_alerts(stack, number) == []

    await stack.env.sleep(timedelta(minutes=2))  # 11 minutes of silence, the timeout is 10
    link = await _link_becomes(stack, "offline", 2)
    assert link["changes"][1]["previous"] == "online"
    assert "no heartbeat since" in link["changes"][1]["detail"]
    listed = {entry["store_id"]: entry for entry in (await stack.http.get("/stores/links", headers=HO)).json()}
    assert listed["S001"]["state"] == "offline" and listed["S001"]["since"] == link["since"]
    assert listed["S002"]["state"] == "unmonitored"

    refused = await _place(stack)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "fulfilment.store_id"
    assert "S001 is offline since" in refused.json()["errors"][0]["message"]
    assert (await _place(stack, "S002")).status_code == 201  # the demo stores send no heartbeats: unmonitored
    moved = await stack.http.post(
        f"/orders/{elsewhere}/move-to-store", json={"store_id": "S001", "reason": "nearer"}, headers=HO
    )
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "store_id"

    async def alerted():
        return await _open_alerts(stack, number) == ["store_offline"]

    await eventually(alerted)
    search = (await stack.http.get("/orders?alert_type=store_offline", headers=HO)).json()
    assert [o["order_number"] for o in search["items"]] == [number]
    assert await _open_alerts(stack, elsewhere) == []

    await _heartbeat(stack)
    link = await _link_becomes(stack, "online", 3)
    assert [c["state"] for c in link["changes"]] == ["online", "offline", "online"]
    assert "offline" in link["changes"][2]["detail"]

    async def cleared():
        return await _open_alerts(stack, number) == []

    await eventually(cleared)
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [a["type"] for a in view["alerts"]] == ["store_offline"] and view["alerts"][0]["cleared_at"]
    assert view["status"] == "awaiting_acknowledgement"  # the alert never stopped the order
    assert (await _place(stack)).status_code == 201


async def test_link_workflow_continues_as_new_carrying_the_link_over(stack):
    workflow_id = store_link_workflow_id("S001")
    handle = await stack.client.start_workflow(
        StoreLinkWorkflow.run,
        StoreLinkInput(store_id="S001", history_cap=20),
        id=workflow_id,
        task_queue=stack.settings.task_queue,
    )
    first_run = handle.first_execution_run_id
    await _heartbeat(stack)
    online = await _link_becomes(stack, "online", 1)

    async def continued():
        for _ in range(2):
            await _heartbeat(stack)
        description = await stack.client.get_workflow_handle(workflow_id).describe()
        return description if description.run_id != first_run else None

    await eventually(continued, timeout=30)
    history = await stack.client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
    kinds = [event.event_type for event in history.events]
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) >= 2
    assert kinds.count(EventType.EVENT_TYPE_TIMER_STARTED) == 1  # one deadline timer, not one per heartbeat
    latest = stack.client.get_workflow_handle(workflow_id)
    carried: StoreLink = await latest.query(StoreLinkWorkflow.link)
    assert carried.state is LinkState.online and carried.changes == 1
    assert carried.since is not None and carried.since.isoformat().startswith(online["since"][:19])

    # The carried link keeps counting: a short timeout takes the store offline and a heartbeat brings it back.
    stack.settings.store_link_timeout_seconds = 1
    await _heartbeat(stack)
    await _link_becomes(stack, "offline", 2)
    await _heartbeat(stack)
    link = await _link_becomes(stack, "online", 3)
    assert [c["change_id"] for c in link["changes"]] == [f"{workflow_id}:change:{n}" for n in (1, 2, 3)]
