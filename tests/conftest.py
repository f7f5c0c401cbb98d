from pipeline_fixture import *  # noqa: F403
from s3_server import *  # noqa: F403
from scheduling import *  # noqa: F403
from slack_receiver import *  # noqa: F403

# Loaded here, as a plugin, before any test module imports it: pytest then
# rewrites its asserts (a module imported first cannot be rewritten).
pytest_plugins = ("twilio_server",)
