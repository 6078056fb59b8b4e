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
# sight, a full collection no longer walks it. A batch request allocates enough objects to set
# off collections over the whole heap, a tenth of the API's CPU per event (measured with
# gc.callbacks, docs/BENCHMARKS.md).
gc.freeze()
