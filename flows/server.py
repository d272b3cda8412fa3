"""The Prefect API the commands talk to: the one configured, or a temporary local server."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def prefect_api():
    """A Prefect API for this process and its children.

    With PREFECT_API_URL set (a server, Prefect Cloud, a worker's run), that one. Otherwise a
    temporary local server: Prefect's ephemeral mode would serve this process only, and the
    process pools of the flows would each start a server of their own and lose their records.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=180)  # a fresh PREFECT_HOME migrates its database first
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield server.api_url
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):  # send what is queued while the server still listens
            worker.drain_all(timeout=30)
        del os.environ["PREFECT_API_URL"]
        server.stop()
