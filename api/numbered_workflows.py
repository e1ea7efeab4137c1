"""What the returns and customer-requests routes share: the caller as history names them, a workflow started under the
order's next number (`return-<order>-<k>`, `request-<order>-<k>`; an Idempotency-Key names it instead, so a retried
request answers the same one), and an update whose refusal is a 409 naming its rule."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Conflict
from models.settings import ApiKeyHolder, Role

T = TypeVar("T", bound=BaseModel)


def actor_of(caller: ApiKeyHolder) -> str:
    """`ho:alice`, `channel:webstore`, `store:oxford-street`."""
    return f"ho:{caller.name}" if caller.role is Role.head_office else f"{caller.role.value}:{caller.name}"


async def start_numbered(
    temporal: Client,
    task_queue: str,
    workflow: str,
    make_id: Callable[[int | str], str],
    make_start: Callable[[str], BaseModel],
    count: int,
    caller: ApiKeyHolder,
    idempotency_key: str | None,
) -> str:
    """Start the workflow under the next free number (or the key's name); its id."""
    if idempotency_key:
        digest = hashlib.sha256(f"{caller.name}:{idempotency_key}".encode()).hexdigest()[:12]
        candidates = [make_id(digest)]
    else:
        candidates = [make_id(k) for k in range(count + 1, count + 6)]
    policy = WorkflowIDConflictPolicy.USE_EXISTING if idempotency_key else WorkflowIDConflictPolicy.FAIL
    for workflow_id in candidates:
        try:
            await temporal.start_workflow(
                workflow, make_start(workflow_id), id=workflow_id, task_queue=task_queue, id_conflict_policy=policy
            )
        except RPCError as error:
            if error.status is RPCStatusCode.ALREADY_EXISTS:
                continue  # another request took this number: the next one
            raise
        return workflow_id
    raise Conflict("too many asked for at once on this order; try again", type_="busy", rule="busy")


async def update(temporal: Client, workflow_id: str, name: str, argument: Any, result_type: type[T], rule: str) -> T:
    """Run the update; its refusal (or a closed workflow) is a 409 with `rule`."""
    try:
        result: T = await temporal.get_workflow_handle(workflow_id).execute_update(
            name, argument, result_type=result_type
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise Conflict(message, type_=rule, rule=rule) from error
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Conflict(f"{workflow_id} is closed", type_=rule, rule=rule) from error
        raise
    return result
