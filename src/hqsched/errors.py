"""The one exception type for bad user input (base layer: imports nothing of hqsched).

Every layer raises ``InputError`` for input a user can fix; the ``hqsched``
command turns it into ``hqsched: error: <message>`` and exit code 2, never a
traceback.
"""


class InputError(ValueError):
    """Bad user input; the message names the source (file/option), field and value."""
