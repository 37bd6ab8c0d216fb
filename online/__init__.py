"""The online simulator: a discrete-event model of the platform (MODEL.md, "Online dynamics").

Modules: config (``SimulationConfig``, ``ReplicationResult``, the metric
names), engine (``simulate``: one replication, records streamed to a sink),
kernel (the event loop over flat arrays, compiled with numba), policies (the
quantum scheduling policies: fifo, lifo, random, weighted), instance_runs
(online runs of a finite instance, as the offline comparisons use them),
simpy_model (the same model written on SimPy: readable, slow, identical
results; the oracle tests/test_simpy_model.py checks the kernel against).

Layer 2: imports the base layer and ``hqsched.instances``; never
``hqsched.formulation`` (same rank) or anything above.
"""
