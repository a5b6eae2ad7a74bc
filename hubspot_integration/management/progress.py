"""The progress bar the long-running commands draw: on stderr, so stdout keeps only the summary."""

from tqdm import tqdm


def progress_bar(command, *, total: int, unit: str, desc: str, disable: bool | None) -> tqdm:
    """`disable=None` draws it only on a terminal (tqdm's rule); True never draws it."""
    return tqdm(total=total, unit=unit, desc=desc, disable=disable, file=command.stderr._out)
