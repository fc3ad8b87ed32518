"""User-facing errors: one clear message naming the file or key and the fix."""


class ReidError(Exception):
    """An error caused by the user's input; the CLI prints it as one line, without traceback."""


class ConfigError(ReidError):
    """A configuration key is unknown, missing or of the wrong type."""


class DatasetError(ReidError):
    """A dataset folder, file name or image is not what the adapter expects."""


class AcquisitionError(ReidError):
    """A download, checksum or archive extraction failed."""


class CheckpointError(ReidError):
    """A checkpoint is missing, corrupt or incompatible with the config."""
