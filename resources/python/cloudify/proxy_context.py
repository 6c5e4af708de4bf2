# A context object for Python scripts that forwards to the operation's ctx proxy: one JSON
# request {"args": [...], "token": ...} per connection to the unix socket in CTX_SOCKET_URL,
# answered with {"type": "result"|"error"|"stop_operation", "payload": ...}.
import json
import os
import socket

try:
    from collections.abc import Mapping, MutableMapping
except ImportError:  # pragma: no cover
    from collections import Mapping, MutableMapping

from cloudify.exceptions import NonRecoverableError, RecoverableError


class ScriptException(BaseException):
    """The proxy stopped the operation (abort or retry): the script should end."""


def _request(args):
    url = os.environ.get('CTX_SOCKET_URL', '')
    if not url.startswith('unix://'):
        raise NonRecoverableError(
            'ctx: no ctx proxy to talk to (CTX_SOCKET_URL is %r); is this script run by a '
            'script operation?' % url)
    body = json.dumps({'args': list(args), 'token': os.environ.get('CTX_TOKEN', '')})
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(float(os.environ.get('CTX_TIMEOUT', '30')))
        sock.connect(url[len('unix://'):])
        sock.sendall(body.encode('utf-8'))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as e:
        raise NonRecoverableError('ctx: cannot reach the ctx proxy (has the operation '
                                  'ended?): %s' % e)
    finally:
        sock.close()
    answer = json.loads(b''.join(chunks).decode('utf-8'))
    kind = answer.get('type')
    payload = answer.get('payload')
    if kind == 'error':
        error = payload or {}
        message = error.get('message', 'ctx request failed')
        if error.get('type') == 'RecoverableError':
            raise RecoverableError(message)
        if 'illegal path' in message:
            raise KeyError(message)
        raise NonRecoverableError(message)
    if kind == 'stop_operation':
        raise ScriptException((payload or {}).get('message', ''))
    return payload


class _Logger(object):
    def _log(self, level, message, args):
        text = str(message)
        if args:
            text = text % args
        _request(['logger', level, text])

    def debug(self, message, *args, **kwargs):
        self._log('debug', message, args)

    def info(self, message, *args, **kwargs):
        self._log('info', message, args)

    def warning(self, message, *args, **kwargs):
        self._log('warning', message, args)

    warn = warning

    def error(self, message, *args, **kwargs):
        self._log('error', message, args)

    def critical(self, message, *args, **kwargs):
        self._log('error', message, args)

    def exception(self, message, *args, **kwargs):
        self._log('error', message, args)


class _Properties(Mapping):
    """A node's properties (read-only), read once."""

    def __init__(self, prefix):
        self._prefix = prefix
        self._cache = None

    def _all(self):
        if self._cache is None:
            self._cache = _request(self._prefix + ['node', 'properties']) or {}
        return self._cache

    def __getitem__(self, key):
        return self._all()[key]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())

    def get_all(self):
        return dict(self._all())


class _RuntimeProperties(MutableMapping):
    """An instance's runtime properties: reads see the stored values, writes are stored at once
    (through the versioned update when the operation ends, as the original's)."""

    def __init__(self, prefix):
        self._prefix = prefix + ['instance', 'runtime-properties']

    def _all(self):
        return _request(self._prefix) or {}

    def __getitem__(self, key):
        values = self._all()
        return values[key]

    def __setitem__(self, key, value):
        _request(self._prefix + [key, value])

    def __delitem__(self, key):
        if key not in self._all():
            raise KeyError(key)
        _request(self._prefix + [key, None])

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())

    def get_all(self):
        return self._all()

    # The original's dirty-tracking API: here every write is sent at once.
    @property
    def dirty(self):
        return False

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


class _Node(object):
    def __init__(self, prefix):
        self._prefix = prefix
        self.properties = _Properties(prefix)

    @property
    def id(self):
        return _request(self._prefix + ['node', 'id'])

    @property
    def name(self):
        return _request(self._prefix + ['node', 'name'])

    @property
    def type(self):
        return _request(self._prefix + ['node', 'type'])

    @property
    def type_hierarchy(self):
        return _request(self._prefix + ['node', 'type-hierarchy'])


class _Instance(object):
    def __init__(self, prefix):
        self._prefix = prefix
        self.runtime_properties = _RuntimeProperties(prefix)

    @property
    def id(self):
        return _request(self._prefix + ['instance', 'id'])

    @property
    def host_ip(self):
        return _request(self._prefix + ['instance', 'host-ip'])

    def update(self, *args, **kwargs):
        """Runtime properties are stored as they are written; nothing is left to send."""


class _Side(object):
    """ctx.source / ctx.target of a relationship operation."""

    def __init__(self, name):
        self.node = _Node([name])
        self.instance = _Instance([name])


class _Named(object):
    def __init__(self, what):
        self._what = what

    @property
    def id(self):
        return _request([self._what, 'id'])


class _Operation(object):
    @property
    def name(self):
        return _request(['operation', 'name'])

    @property
    def retry_number(self):
        return _request(['operation', 'retry-number'])

    @property
    def max_retries(self):
        return _request(['operation', 'max-retries'])

    def retry(self, message='', retry_after=None):
        args = ['operation', 'retry', message]
        if retry_after is not None:
            args.append(retry_after)
        return _request(args)


class ProxyContext(object):
    def __init__(self):
        self.logger = _Logger()
        self.node = _Node([])
        self.instance = _Instance([])
        self.source = _Side('source')
        self.target = _Side('target')
        self.deployment = _Named('deployment')
        self.blueprint = _Named('blueprint')
        self.operation = _Operation()

    def __call__(self, *args):
        """ctx('instance', 'id'): any request the `ctx` command can make."""
        return _request(args)

    @property
    def execution_id(self):
        return _request(['execution-id'])

    @property
    def workflow_id(self):
        return _request(['workflow-id'])

    @property
    def tenant_name(self):
        return _request(['tenant-name'])

    def returns(self, value):
        return _request(['returns', value])

    def abort_operation(self, message=''):
        return _request(['abort-operation', message])

    def retry_operation(self, message='', retry_after=None):
        args = ['retry-operation', message]
        if retry_after is not None:
            args.append(retry_after)
        return _request(args)

    def download_resource(self, resource_path, target_path=None):
        args = ['download-resource', resource_path]
        if target_path:
            args.append(target_path)
        return _request(args)

    def download_resource_and_render(self, resource_path, target_path=None,
                                     template_variables=None):
        args = ['download-resource-and-render', resource_path]
        if target_path:
            args.append(target_path)
        if template_variables:
            args.append({'template_variables': template_variables})
        return _request(args)

    def get_resource(self, resource_path):
        return _request(['get-resource', resource_path])

    def get_resource_and_render(self, resource_path, template_variables=None):
        args = ['get-resource-and-render', resource_path]
        if template_variables:
            args.append({'template_variables': template_variables})
        return _request(args)


ctx = ProxyContext()
