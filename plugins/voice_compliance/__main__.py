"""``python -m voice_compliance``: see ``voice_compliance.cli``."""

from voice_compliance.cli import main

raise SystemExit(main())
