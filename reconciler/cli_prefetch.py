"""A read-only plan that starts reading the live accounts before the resource files are loaded.

What a refresh reads depends on ``reconciler.yaml`` (accounts, state) and the command's scope
only. :class:`EarlyPlan` is the ``on_accounts`` hook of :func:`reconciler.config.load.load_config`:
once ``reconciler.yaml`` is read without an error it opens the state and starts the refresh in a
background thread (:meth:`reconciler.engine.Run.prefetch`) while the resource files load. When
anything about that start fails, it quietly starts nothing: the ordinary path after the load
meets the same problem and reports it. When the config turns out invalid, :meth:`close` abandons
the refresh (no further request is sent) and the config problems are reported as before.
"""

from __future__ import annotations

import logging

from reconciler.cli_support import check_scope
from reconciler.config.types import Config
from reconciler.engine import Run
from reconciler.errors import ReconcilerError
from reconciler.state import StateBackend, open_backend

log = logging.getLogger(__name__)


class EarlyPlan:
    """The backend and run of a plan whose refresh started during the config load, if it did."""

    def __init__(self, accounts: tuple[str, ...], types: tuple[str, ...]) -> None:
        self.accounts, self.types = accounts, types
        self.backend: StateBackend | None = None
        self.run: Run | None = None

    def start(self, partial: Config) -> None:
        """The ``on_accounts`` hook: open the state and start the refresh."""
        backend: StateBackend | None = None
        try:
            check_scope(partial, self.accounts, self.types)
            backend = open_backend(partial)
            state = backend.load()
            run = Run(partial, state, self.accounts, frozenset(self.types) if self.types else None)
        except (ReconcilerError, OSError) as exc:
            log.debug("plan: the refresh waits for the config load (%s)", exc)
            if backend is not None:
                backend.close()
            return
        run.prefetch()
        self.backend, self.run = backend, run

    def take(self, config: Config) -> tuple[StateBackend, Run] | None:
        """The started backend and run, now with the full ``config``; ``None`` if none started."""
        if self.run is None or self.backend is None:
            return None
        backend, run = self.backend, self.run
        self.backend = self.run = None
        try:
            run.adopt(config)
        except ReconcilerError:
            run.close()
            backend.close()
            raise
        return backend, run

    def close(self) -> None:
        """Abandon a refresh nobody took (the config was invalid) and close its state."""
        if self.run is not None:
            self.run.close()
        if self.backend is not None:
            self.backend.close()
        self.backend = self.run = None
