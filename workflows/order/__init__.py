"""The order workflow: the shell in workflow.py, its calls to the database and the gateways in calls.py."""

from workflows.order.workflow import OrderWorkflow

__all__ = ["OrderWorkflow"]
