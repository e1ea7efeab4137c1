"""The Pick Manager's returns: what customers bring back to this store. Returns to receive (authorised, or on their
way by carrier) with a Receive button, and returns received with an inspection per line: units restocked (back on
the shelf through the stock ledger) or written off. The buttons run the same return workflow updates as the API's
/returns/{id}/received and /inspection, with a fresh update id per click."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.deps import SessionDep, TemporalDep, in_threadpool
from api.pages.session import StoreUser
from api.pages.shared import page
from api.problems import NotFound
from models.db import returns as return_rows
from models.returns import InspectedLine, ReturnState, ReturnStatus
from models.settings import ApiKeyHolder
from workflows.returns import Inspection, Receipt

router = APIRouter(prefix="/ui", include_in_schema=False)

TO_RECEIVE = [ReturnStatus.authorised, ReturnStatus.in_transit]
TO_INSPECT = [ReturnStatus.received]


def _actor(request: Request, user: ApiKeyHolder) -> str:
    staff = getattr(request.state, "staff_user", None)
    return f"store:{user.store_id}" + (f" ({user.name})" if staff is not None else "")


async def _context(session: Any, store_id: str) -> dict[str, Any]:
    def read() -> tuple[list[ReturnState], list[ReturnState]]:
        waiting = return_rows.at_location(session, store_id, TO_RECEIVE)
        received = return_rows.at_location(session, store_id, TO_INSPECT)
        return waiting, [r for r in received if r.inspected_by is None]  # inspected: it is being refunded

    to_receive, to_inspect = await in_threadpool(session, read)
    return {"store_id": store_id, "to_receive": to_receive, "to_inspect": to_inspect}


@router.get("/store/returns")
async def returns_page(session: SessionDep, request: Request, user: StoreUser) -> Response:
    return page(request, "store_returns.html", user, **await _context(session, str(user.store_id)))


async def _run(temporal: Client, return_id: str, name: str, argument: Any) -> str | None:
    """The update; why it was refused, or None when done."""
    try:
        await temporal.get_workflow_handle(return_id).execute_update(
            name, argument, id=f"ui-{uuid.uuid4()}", result_type=ReturnState
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        return cause.message if isinstance(cause, ApplicationError) else str(cause or error)
    except RPCError:
        return f"{return_id} is closed"
    return None


def _inspection(form: Any, state: ReturnState) -> list[InspectedLine] | str:
    lines = []
    for line in state.lines:
        try:
            restock = int(str(form.get(f"restock_{line.line_id}", line.quantity)))
            write_off = int(str(form.get(f"write_off_{line.line_id}", 0)))
            lines.append(InspectedLine(line_id=line.line_id, accepted=restock, written_off=write_off))
        except (ValueError, ValidationError):
            return f"{line.line_id}: units restocked and written off are whole numbers from 0"
    return lines


@router.post("/store/returns/{return_id}/{button}")
async def return_action(
    return_id: str, button: str, request: Request, session: SessionDep, temporal: TemporalDep, user: StoreUser
) -> Response:
    """Receive or Inspect: refused by the return's rules (shown, nothing done) or done."""
    store_id = str(user.store_id)
    state = await in_threadpool(session, return_rows.get, session, return_id)
    if button not in ("receive", "inspect") or state is None or state.location_id != store_id:
        raise NotFound(f"no return {return_id} at {store_id}", type_="page-not-found")
    refusal: str | None
    if button == "receive":
        refusal = await _run(temporal, return_id, "receive", Receipt(location_id=store_id, actor=_actor(request, user)))
        done = f"Return {return_id} received: inspect it below."
    else:
        lines = _inspection(await request.form(), state)
        refusal = lines if isinstance(lines, str) else None
        if not isinstance(lines, str):
            refusal = await _run(temporal, return_id, "inspect", Inspection(lines=lines, actor=_actor(request, user)))
        done = f"Return {return_id} inspected: restocked units are back in stock, the customer is refunded."
    context = await _context(session, store_id)
    return page(request, "_store_returns.html", user, message=None if refusal else done, refusal=refusal, **context)
