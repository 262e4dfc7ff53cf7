"""feedwatch: watch public news feeds for names and deliver digests of the mentions to Telegram chats.

The version has one source, pyproject.toml; it is read here from the installed package's metadata.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feedwatch")
except PackageNotFoundError:  # a source tree run without being installed
    __version__ = "0+unknown"
