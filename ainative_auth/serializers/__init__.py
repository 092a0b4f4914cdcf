"""Request and response bodies, split by flow. Serializers validate; services write."""

from .accounts import *  # noqa: F403
from .api_keys import *  # noqa: F403
from .email import *  # noqa: F403
from .fields import *  # noqa: F403
from .social import *  # noqa: F403
