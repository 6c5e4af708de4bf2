# Runs a Python script of a script operation as the original evaluates one (eval_python):
# `python3 -m cloudify.script_runner SCRIPT [ARGS...]` executes SCRIPT with `ctx` and `inputs`
# among its globals, and turns the exceptions it raises into the operation's outcome:
# NonRecoverableError aborts (no retry), RecoverableError and OperationRetry ask for a retry.
import runpy
import sys
import traceback

from cloudify import ctx
from cloudify.exceptions import NonRecoverableError, OperationRetry, RecoverableError
from cloudify.proxy_context import ScriptException
from cloudify.state import ctx_parameters


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: python3 -m cloudify.script_runner SCRIPT [ARGS...]\n')
        return 2
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    try:
        runpy.run_path(script, init_globals={'ctx': ctx, 'inputs': ctx_parameters},
                       run_name='__main__')
    except ScriptException:
        return 0  # the script already ended its operation (abort or retry)
    except OperationRetry as e:
        ctx.retry_operation(str(e) or 'retry requested', e.retry_after)
        return 1
    except NonRecoverableError as e:
        traceback.print_exc()
        ctx.abort_operation(str(e) or type(e).__name__)
        return 1
    except RecoverableError as e:
        traceback.print_exc()
        ctx.retry_operation(str(e) or type(e).__name__, e.retry_after)
        return 1
    except SystemExit as e:
        return e.code
    return 0


if __name__ == '__main__':
    sys.exit(main())
