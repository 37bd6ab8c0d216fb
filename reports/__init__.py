"""Reports and every figure: campaign reports, the paper's findings, plan heat maps, Gantt charts.

Modules: report (figures, CSV tables and a Markdown page of the output of
``simulate``, ``campaign run``, ``plan simulate`` or ``gap``), campaign_data
(simulation results of either layout as pandas tables), gap_report (the page
of a gap study), html (the page as HTML without a Markdown package), style
(one figure width, font set and file format choice for every figure), paper
(the paper's Section IV findings against a campaign's numbers), plan_figure
(the heat map of ``hqsched plan simulate``), gantt (a schedule, one lane per
server).

Layer 5: may import every layer below (base, instances, online,
formulation, experiments, planning, validation); never the CLI.
"""
