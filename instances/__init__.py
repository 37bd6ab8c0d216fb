"""The data model every other part shares: platform, jobs, instances, traces, workloads.

Modules: model (``Platform``, ``Job``, ``Instance``, task chains), schedule
(when and where each task ran), traces (the bundled reference traces in
``data/``), workload (the paper's trace-driven workload, ``WorkloadSpec``),
synthetic (workloads from named distributions), streams (named random
streams per seed), io (instance JSON and job-list CSV files), generate
(small trace instances for the offline solver).

Layer 1: imports only the base layer (``hqsched.errors``, ``hqsched.files``,
``hqsched.inputs``, ``hqsched.tables``, ``hqsched.compiled``), never another
capability package.
"""
