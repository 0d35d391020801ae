"""The ML commands and the glue between products and the plain-Python `ml/` package."""


def say(stdout, message):
    """Write a progress line to a command's stdout; library callers pass None."""
    if stdout is not None:
        stdout.write(message if message.endswith("\n") else message + "\n")
