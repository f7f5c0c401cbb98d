from pipeline_fixture import *  # noqa: F403
from s3_server import *  # noqa: F403
from scheduling import *  # noqa: F403
from slack_receiver import *  # noqa: F403
