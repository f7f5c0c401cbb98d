"""``python -m voice_compliance``: see ``voice_compliance.cli``.

Only as the package's ``__main__`` module: Airflow's plugin loader runs every
``.py`` file of a plugins folder under its file's stem, so a copy of
``plugins/`` without its ``.airflowignore`` ran this file as ``__main__`` and
the command line took the scheduler's arguments (and exited it).
"""

if __spec__ is not None and __spec__.name == "voice_compliance.__main__":
    from voice_compliance.cli import main

    raise SystemExit(main())
