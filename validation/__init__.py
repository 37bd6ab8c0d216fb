"""Validation: the parts checked against theory and against each other.

Modules: queueing (the simulator configured as textbook queues, against
closed forms: Erlang C, M/M/1 disciplines, M/G/1-PS, M/M/c/K, Little's
law), invariants (MODEL.md's cross-part invariants on many tiny
instances), gap (the optimal-versus-online gap study).

Layer 4: imports the base layer, ``hqsched.instances``, ``hqsched.online``,
``hqsched.formulation`` and ``hqsched.experiments``; never
``hqsched.planning`` (same rank), reports or the CLI.
"""
