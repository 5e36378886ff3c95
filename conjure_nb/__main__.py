"""Allow `python -m conjure_nb`."""

from .cli import main

raise SystemExit(main())
