"""hqsched: hybrid classical-quantum serverless scheduling.

Parts (data flows one way):
``hqsched.instances`` -> ``hqsched.formulation`` / ``hqsched.online`` -> ``hqsched.validation``.
"""

__version__ = "0.1.0"
