# The `cloudify` package that Python scripts of script operations import, as they import the
# original's: `from cloudify import ctx`. Here `ctx` is not the manager's context object but a
# proxy to it: every read and write is a request to the operation's ctx proxy (the socket in
# CTX_SOCKET_URL), the same requests the `ctx` command sends.
from cloudify.proxy_context import ctx  # noqa: F401
