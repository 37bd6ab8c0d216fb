"""Reports and every figure: campaign reports, the paper's findings, plan heat maps, Gantt charts.

Modules: report (PNG figures, CSV tables and a Markdown page of a
campaign), campaign_data (campaign results as pandas tables), paper (the
paper's Section IV findings against a campaign's numbers), plan_figure (the
heat map of ``hqsched plan simulate``), gantt (a schedule, one lane per
server).

Layer 5: may import every layer below (base, instances, online,
formulation, experiments, planning, validation); never the CLI.
"""
