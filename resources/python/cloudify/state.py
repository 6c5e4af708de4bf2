# `from cloudify.state import ctx_parameters as inputs`: the operation's inputs.
import json
import os

from cloudify.proxy_context import ctx  # noqa: F401


def _load_parameters():
    text = os.environ.get('CLOUDIFY_CTX_PARAMETERS')
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


ctx_parameters = _load_parameters()
