"""ASGI entry point: HTTP through Django, WebSocket through Channels (served by uvicorn or daphne)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.asgi_http import PooledASGIHandler  # noqa: E402

django_asgi_app = PooledASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Everything loaded at start-up lives as long as the process: moved out of the collector's
# sight, a full collection no longer walks it. And a young collection every 10,000 new objects
# rather than 700: a batch request allocates thousands that all live until its answer, each
# scanned again at every collection meanwhile. Collections took 10-16 us of the API's ~100 us of
# CPU per batch event, 1.5 us after (measured with gc.callbacks, docs/BENCHMARKS.md).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
