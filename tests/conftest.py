from s3_server import *  # noqa: F403
