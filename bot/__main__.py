"""Entry point for `python -m bot`, the same as the `feedwatch` command."""

from bot.cli import main

raise SystemExit(main())
