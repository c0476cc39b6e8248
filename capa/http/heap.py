"""A web worker's Python heap, frozen once its first request is answered.

Each request leaves reference cycles behind (the ORM's objects and their states point at each other), so every
few requests Python's collector runs a full collection. A full collection walks every object the process holds:
the modules, the app's templates, SQLAlchemy's compiled statements, some hundreds of thousands of them. That
took about 180 ms every ten requests or so of the quality manager's home page at 1,000,000 NCs (its p95 twice
its median). What a worker holds after its first request lives as long as the worker, so it is collected once
and then frozen (``gc.freeze``): later collections walk only what came after. ``CAPA_FREEZE_HEAP`` turns it off;
an app under test (``TESTING``) never freezes, since a test process makes many apps and frozen objects are never
freed.
"""

import gc

from flask import Flask


def init_app(app: Flask) -> None:
    frozen = False

    @app.teardown_request
    def freeze_after_the_first_request(_exc: BaseException | None) -> None:
        nonlocal frozen
        if frozen or app.testing or not app.config["CAPA_FREEZE_HEAP"]:
            return
        frozen = True
        gc.collect()
        gc.freeze()
