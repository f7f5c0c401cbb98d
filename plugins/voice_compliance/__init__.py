"""Twilio Voice Services Policy compliance pipeline.

Airflow DAGs land call detail records, consent exports and do-not-call
registry files into a DuckDB warehouse; dbt derives the policy metrics;
Great Expectations suites turn broken clauses into tickets and Slack alerts.
"""

__version__ = "0.1.0"
