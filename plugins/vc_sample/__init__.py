"""Sample data and demo tooling for voice_compliance: never imported by a DAG.

* :mod:`vc_sample.generate`: the synthetic landing zone with planted
  violations, near misses and malformed inputs (``python -m voice_compliance
  generate``, ``demo``, the tests and the scale benchmark); its reference
  evaluator reads the thresholds and clause ids from the policy file through
  :func:`voice_compliance.policy.load_policy`.
* :mod:`vc_sample.fake_twilio`: a local stand-in for Twilio's REST API
  serving a landing zone's calls (``demo --twilio-fake`` and the pull tests).

This package sits beside the runtime package so the DAGs, the Airflow tasks
and the pipeline modules stay free of it: it may import ``voice_compliance``
(the policy), never the reverse, except lazily inside the command-line
commands that exist to run it (``tests/dags/test_runtime_imports.py``).
"""
