"""Where curation's tasks run: this machine's processes, or a Ray cluster.

Curation is split the way datatrove splits a pipeline: independent tasks (one per input
shard, then one per sort partition of the duplicate finder), each writing its own outputs
and a completion marker, and global steps in the driver that read those outputs in task
order. An executor only decides where a task runs; the tasks and their order are fixed by
the inputs and settings, so every executor, with any number of workers, writes the same
bytes.

- :class:`LocalExecutor` runs tasks one after another in this process; a shard task spreads
  its batches over ``num_proc`` worker processes (the pool curation always had).
- :class:`RayExecutor` submits every task to Ray (``pip install 'modelmint[ray]'``), one CPU
  each. Ray runs a task again when its worker dies (``max_retries``), and a task that
  finished left its marker, so nothing is lost and nothing is done twice. On a cluster of
  several machines the catalog's home must be a filesystem every node mounts (NFS, Lustre),
  as datatrove's Slurm and Ray executors need a shared output folder.

An error in the input (a :class:`~modelmint.errors.UserError`) is not retried: Ray raises it
in the driver as that same class."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from modelmint.data.errors import DataError
from modelmint.errors import UserError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs a picklable, top-level function over tasks; results come back in task order."""

    # True when tasks run in this process, so they may report progress through a callback.
    in_process: bool

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]: ...


class LocalExecutor:
    in_process = True

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        return (fn(t) for t in tasks)


class RayExecutor:
    """Tasks on a Ray cluster: the one at ``address`` ("auto" finds a running one), or a
    local one of ``num_cpus`` started here when Ray is not yet initialised."""

    in_process = False

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3
    ) -> None:
        try:
            import ray
        except ImportError:
            raise DataError(
                "the Ray executor needs Ray: pip install 'modelmint[ray]', "
                "or run without --executor ray"
            ) from None
        if not ray.is_initialized():
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
            )
        self._ray, self.max_retries = ray, max_retries

    @property
    def workers(self) -> int:
        return int(self._ray.cluster_resources().get("CPU", 1))

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        remote: Any = self._ray.remote(num_cpus=1, max_retries=self.max_retries)(run_task)
        refs = [remote.remote(fn, t) for t in tasks]
        done = 0
        try:
            for ref in refs:
                try:
                    yield self._ray.get(ref)
                except self._ray.exceptions.RayTaskError as e:
                    if isinstance(e.cause, UserError):  # the user's to fix: said as here
                        raise e.cause from None
                    raise
                done += 1
        finally:
            for ref in refs[done:]:  # a failed or abandoned run leaves nothing running
                self._ray.cancel(ref, force=True)


def run_task(fn: Callable[[T], R], task: T) -> R:
    """What a Ray worker runs (its process is titled ``ray::run_task`` meanwhile)."""
    return fn(task)


def make_executor(name: str, ray_address: str | None = None) -> Executor:
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address=ray_address)
    raise DataError(f"executor must be local or ray, not {name!r}")
