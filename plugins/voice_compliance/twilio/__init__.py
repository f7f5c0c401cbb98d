"""Pull call records from Twilio itself into the landing zone.

Small modules, each owning one thing:

* :mod:`~voice_compliance.twilio.config`: the ``vc_twilio`` Airflow
  connection, validated (accounts, home regions, hosts, credentials);
* :mod:`~voice_compliance.twilio.client`: HTTP to Twilio's regional hosts
  (paging, BulkExport, retries honouring ``Retry-After``);
* :mod:`~voice_compliance.twilio.state`: writing day files and watermarks into
  the landing zone (local folder or S3), atomically and deterministically;
* :mod:`~voice_compliance.twilio.puller`: which days to pull, in what order,
  and the summary of a pull;
* :mod:`~voice_compliance.twilio.fake_server`: a local stand-in for Twilio
  serving a landing zone's calls (tests and ``demo --twilio-fake``).

See ``docs/twilio.md`` and ``docs/decisions/0014-pull-from-twilio.md``.
"""
