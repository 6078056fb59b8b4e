"""The garbage collector set for a long-running Relay process (the API, a stage, the scheduler).

Everything loaded at start-up (Django, the apps, the providers' SDKs) lives as long as the
process: frozen out of the collector's sight, a full collection no longer walks it. And a young
collection comes every 10,000 new objects rather than 700: a batch allocates thousands of
objects (parsed events, model instances, messages) that all live until it is answered or
committed, each scanned again at every collection meanwhile. In the API, collections took
10-16 us of ~100 us of CPU per batch event, 1.5 us after (measured with gc.callbacks,
docs/BENCHMARKS.md).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once start-up is done, before serving."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
