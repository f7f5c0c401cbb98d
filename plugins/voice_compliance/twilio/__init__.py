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

The local stand-in for Twilio (tests and ``demo --twilio-fake``) is tooling,
not pipeline: it lives outside this package, in :mod:`vc_sample.fake_twilio`.

See ``docs/twilio.md`` and ``docs/decisions/0014-pull-from-twilio.md``.
"""
