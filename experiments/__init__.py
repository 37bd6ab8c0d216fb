"""Experiments: many independent runs of the simulator, executed, saved and summarised.

Modules: scenario (scenarios from options and TOML files), replications
(``run_replications``: one replication per seed, resumable), campaign and
campaign_run (a grid of scenarios x seeds), executor (the one process pool /
Ray executor every multi-unit command uses), results_store (finished units
on disk, written atomically), statistics (t intervals, summaries,
breakdowns across seeds).

Layer 3: imports the base layer, ``hqsched.instances``, ``hqsched.online``
and ``hqsched.formulation``; never planning, validation, reports or the CLI.
"""
