"""Capacity planning: the fewest classical workers (C) and quantum computers (Q) meeting a target.

Modules: exact (on a small instance, through the offline solver, every
answer checked and one server fewer proven infeasible), simulated (at any
scale, by simulation over a (C, Q) grid in cost order), fleet (the cheapest
heterogeneous QC fleet and C by simulation, with a work-conservation bound
that prunes candidates), sequential (their statistics: sequential t-tests,
paired tests for non-monotonicity).

Layer 4: imports the base layer, ``hqsched.instances``, ``hqsched.online``,
``hqsched.formulation`` and ``hqsched.experiments``; never
``hqsched.validation`` (same rank), reports or the CLI (the CLI draws the
plan's figure with ``hqsched.reports``).
"""
