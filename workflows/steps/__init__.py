"""Step types of a workflow: one module per type, all behind one interface (``base.py``).

How to add a step type (``digest``, say):

1. Write ``workflows/steps/<type>.py`` with two functions::

       def start(ctx: StepContext) -> Outcome: ...   # the run reached the step, its ``if`` held
       def resume(ctx: StepContext) -> Outcome: ...  # its wait came due, or a read woke it

   Return ``done(...)`` to go on to the next step, ``wait(until, ...)`` to stop here until
   ``until`` (a ``Wait`` row the scheduler claims; pass ``wake_on=<delivery id>`` to be woken
   as soon as that delivery's in-app message is read or seen), or an ``Outcome`` with
   ``end_run=<RunStatus>`` to end the run after this step (``throttle`` does, with
   ``throttled``). Record what the step decided on in ``values``; a delivery it made in
   ``delivery`` (make one with ``ctx.sender(SendRequest(...))``: routing decides it as for any
   event). What later steps should see goes into ``ctx.run.context`` (a digest puts
   ``{"count", "events", "actors"}`` under ``"digest"``: conditions read it as ``digest`` and
   ``send`` hands it to the templates).
2. Both functions run in the engine's transaction with the run row locked: write your own
   models (in this app, with a migration) there and they commit with the step's state, once.
   Do not publish or sleep in them; the engine dispatches the deliveries after the commit.
3. Add the module to ``STEP_TYPES`` below. The engine, the scheduler, cancellation and the
   metrics need nothing else.
"""

from __future__ import annotations

from workflows.steps import delay, digest, send, throttle, wait_for
from workflows.steps.base import StepType

STEP_TYPES: dict[str, StepType] = {
    "send": send,
    "delay": delay,
    "digest": digest,
    "throttle": throttle,
    "waitFor": wait_for,
}
