"""The baselines: what a user would write with Starlette alone, doing the trivial predictor's work.

``async_app``: the endpoint parses the JSON body and sends it back, on the event loop.
``sync_app``: the same, with the "model" (here: nothing) called in Starlette's thread pool, as any
blocking model must be, and as the runtime calls a synchronous ``predict``.
"""

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route


def predict(payload):
    return payload


async def echo(request):
    return JSONResponse(await request.json())


async def echo_in_thread(request):
    return JSONResponse(await run_in_threadpool(predict, await request.json()))


async_app = Starlette(routes=[Route("/", echo, methods=["POST"])])
sync_app = Starlette(routes=[Route("/", echo_in_thread, methods=["POST"])])
