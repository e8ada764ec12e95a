"""Putting work on the django-q2 broker from inside the web app."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task


def enqueue(func: str, *args, task_name: str, **q_options) -> str:
    """Queue ``func(*args)`` for a worker and return the task id.

    The call is wrapped in a transaction on purpose: outside one, django-q2's ORM broker
    first runs ``close_old_connections()``, which (with ``CONN_MAX_AGE=0``) closes the web
    request's own database connection mid-request.
    """
    options = {"task_name": task_name, **q_options}
    with transaction.atomic():
        return async_task(func, *args, q_options=options)
