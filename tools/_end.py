"""How a `taonet` process ends once its command has returned: its exit handlers run, then it leaves without nng's own
teardown and without the interpreter's.

pynng registers ``nng_fini`` as an exit handler. nng tears a closed socket down in its own threads (its dialer, its
connections' negotiation, their timers), after ``nng_close`` has returned; ``nng_fini`` destroys the locks those
threads still take, and one that does so afterwards panics the whole process (SIGABRT, ``panic:
pthread_mutex_lock: Invalid argument``, a C backtrace on stderr: pynng issue #108). A command that closed a client
just before it returned (the launcher watching a node that is away, every command on a loaded machine where nng's
threads run late) could end that way instead of with its exit status: measured, 2 of the first 12 runs of the
launcher's port-taken test with three copies of it running at once (0 of 67 after).

Without ``nng_fini`` the interpreter's own teardown would be the hazard pynng guards against (objects freed while nng
threads call back into a finalizing interpreter). So the command's process ends as a forked child does: the
threads it started finish, every other exit handler runs (logging, weakref finalizers, the clients' and axons'
own closing), standard output and error are flushed, then ``os._exit``. The operating system reclaims the rest.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from typing import NoReturn

__all__ = ["end_process"]


def end_process(code: int) -> NoReturn:
    """End this process with exit status ``code`` (see the module docs); call it only from an entry point, last.

    A Ctrl-C while the threads it started finish ends that wait; from then on SIGINT and SIGTERM are ignored: the
    command has returned, and a Ctrl-C now (a second one, or the copy `timeout` forwards of the first) would only
    print a traceback from whichever exit handler it met."""
    # what the interpreter does first at exit: run threading's exit hooks (concurrent.futures lets its idle workers
    # go there: an executor never shut down would otherwise be waited for for ever), then wait for the non-daemon
    # threads
    shutdown = getattr(threading, "_shutdown", None)
    with contextlib.suppress(KeyboardInterrupt):
        if shutdown is not None:
            shutdown()
        else:  # not CPython: the waiting part
            current = threading.current_thread()
            for t in threading.enumerate():
                if t is not current and not t.daemon:
                    t.join()
    with contextlib.suppress(ValueError):  # not the main thread (a test calling it in a thread)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    nng = sys.modules.get("pynng.nng")
    fini = getattr(nng, "_pynng_atexit", None)
    if fini is not None:
        atexit.unregister(fini)
    atexit._run_exitfuncs()  # every other handler, newest first, as at a normal exit
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream, a reader gone (`| head`): nothing left to say
            if stream is not None:
                stream.flush()
    os._exit(code & 0xFF)  # as sys.exit gives it: 256 is 0, -1 is 255
