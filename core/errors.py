"""Bad input, as opposed to a bug: each stage raises a subclass of InputError whose message
names the culprit (file, field, character, shard, layer); `ocrpipe` prints it in one line and
exits 2, where a bug would show its traceback."""


class InputError(ValueError):
    """Input the pipeline cannot use; the message names it."""
