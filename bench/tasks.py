"""A task that does nothing: the worker-side baseline (broker hop, Celery's own dispatch)."""

from celery import shared_task


@shared_task(name="bench.noop")
def noop(index: int) -> int:
    return index
