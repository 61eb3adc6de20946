"""Streaming over Req/Rep: the axon side of a stream and the frame format.

The protocol (``docs/wire.md`` has the picture):

1. The dendrite sends an ordinary signed request for a :class:`StreamingSynapse`. The axon checks it like any other,
   takes a forward slot, starts the forward (a generator of chunks) in its task group, and answers with the first
   *frame* once at least one chunk is ready (or the stream has ended). That reply carries a secret 16-byte stream id.
2. The dendrite pulls: a pull frame names the stream and ``seq``, the index of the first chunk it has not received.
   The axon drops what came before ``seq`` and answers with the chunks it holds from there (waiting for one if it
   has none), so a lost reply is simply pulled again.
3. A frame's body is ``{"seq": first index, "done": bool, "chunks": [...]}``; every frame is signed by the axon like a
   reply (the open request's nonce, the frame's body hash, its status). The last frame has ``done`` and the stream's
   final status: 200, 408 when the caller's timeout ran out first, 500 when the forward raised.
4. A pull with ``cancel`` ends the stream early. The caller's timeout bounds the whole stream; a stream nobody
   pulls stops at that deadline, and its producer waits (bounded buffer) while the caller does not pull.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Final, final

import anyio
import attrs
import cbor2

from ..errors import BadRequest, ServerError
from ._fields import uncarried
from ._format import Request, Status
from ._late import LateThreads

__all__ = ["OutStream", "StreamFrame"]

MAX_BATCH: Final = 256
"""Most chunks one frame carries."""
CLOSE_GRACE: Final = 1.0
"""Seconds an async generator's own clean-up (its ``finally``) gets once its stream ends or is cut: past them it is
cancelled, so a forward's slow clean-up cannot hold the axon's slot past the request's deadline."""


@attrs.frozen
class StreamFrame:
    """One frame of a stream: the chunks from index ``seq`` on, and whether the stream ends with them."""

    seq: int
    chunks: list[Any]
    done: bool

    def encode(self) -> bytes:
        """Canonical CBOR of the frame (the reply body)."""
        return cbor2.dumps({"seq": self.seq, "done": self.done, "chunks": self.chunks}, canonical=True)

    @classmethod
    def from_value(cls, value: Any) -> StreamFrame:
        """A frame from its decoded body; raises BadRequest when it is not shaped as one."""
        if type(value) is not dict or set(value) != {"seq", "done", "chunks"}:
            raise BadRequest("a stream frame is a map {seq, done, chunks}")
        seq, done, chunks = value["seq"], value["done"], value["chunks"]
        if type(seq) is not int or seq < 0 or type(done) is not bool or type(chunks) is not list:
            raise BadRequest("a stream frame has seq: uint, done: bool, chunks: array")
        return cls(seq=seq, chunks=chunks, done=done)


def _is_async(fn: Callable[..., Any]) -> bool:
    """True for async functions and objects whose ``__call__`` is async."""
    if inspect.iscoroutinefunction(fn):
        return True
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


@final
class OutStream:
    """The axon's side of one stream: the producer's channel, the chunks not yet acknowledged, the final status."""

    def __init__(self, *, sid: bytes, req: Request, deadline: float, buffer_size: int, cls: type,
                 threads: LateThreads | None = None) -> None:
        self.sid = sid
        self.threads = threads or LateThreads()
        self.req = req
        self.deadline = deadline
        self.cls = cls
        self._send, self._recv = anyio.create_memory_object_stream[Any](buffer_size)
        self.buffer: list[Any] = []
        self.base = 0
        self.ended = False
        self.finished = False
        self.status: int = Status.OK
        self.message = ""
        self.lock = anyio.Lock()
        self.delivered = anyio.Event()
        self.scope: anyio.CancelScope | None = None
        self.stopped = False
        """True when the stream was cut short (the caller's deadline passed, or the caller cancelled it)."""
        self.produced = 0
        """Chunks the producer has yielded (checked) so far."""

    def belongs_to(self, req: Request) -> bool:
        """True when a pull comes from the caller that opened the stream."""
        r = self.req
        return req.hotkey == r.hotkey and req.uuid == r.uuid and req.nonce == r.nonce and req.name == r.name

    def finish(self, status: int, message: str) -> None:
        """Set the final status (the first call wins)."""
        if not self.finished:
            self.finished, self.status, self.message = True, status, message

    def stop(self, status: int, message: str) -> None:
        """Cut the stream short: final status, producer cancelled, unread chunks dropped."""
        self.finish(status, message)
        self.stopped = True
        if self.scope is not None:
            self.scope.cancel()

    def close_producer(self) -> None:
        """The producer is done: close its end. After a timeout or a cancel, also drop what it left unread (which
        stops a sync generator's thread at its next chunk); after an error, its last chunks can still be pulled."""
        self._send.close()
        if self.stopped:
            self._drop()

    def _drop(self) -> None:
        self._recv.close()
        self.base += len(self.buffer)
        self.buffer.clear()
        self.ended = True

    def dispose(self) -> None:
        """Release the channel (the stream is gone from the axon)."""
        self._send.close()
        self._drop()

    async def run(self, forward: Callable[..., Any], syn: Any) -> None:
        """Run the forward and send every chunk it yields (sync generators are pumped from a worker thread)."""
        if inspect.isasyncgenfunction(forward) or inspect.isgeneratorfunction(forward):
            source = forward(syn)
        elif _is_async(forward):
            source = await forward(syn)
        else:
            source = await self.threads.run(forward, syn)
        if hasattr(source, "__aiter__"):
            try:
                async for chunk in source:
                    await self._put(chunk)
            finally:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    with anyio.move_on_after(CLOSE_GRACE, shield=True):
                        await aclose()
        elif hasattr(source, "__iter__"):
            await self.threads.run(self._pump, iter(source))
        else:
            raise ServerError(f"a streaming forward must yield chunks, it returned {type(source).__name__}")

    async def _put(self, chunk: Any) -> None:
        """Send one chunk on, checked as a non-streamed answer is: one the wire cannot carry (an int over 64 bits, a
        set: CBOR's tags, which the caller's dendrite refuses) ends the stream with 500 naming it; the chunks before
        it still reach the caller."""
        if (why := uncarried(chunk)) is not None:
            raise ServerError(f"the forward's chunk {self.produced} of {self.cls.NAME} holds {why}, which the wire "
                              "cannot carry"[:300])
        self.produced += 1
        await self._send.send(chunk)

    def _pump(self, it: Any) -> None:
        try:
            for chunk in it:
                anyio.from_thread.run(self._put, chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.RunFinishedError):
            pass  # the stream ended (timeout, cancel) while this thread was producing
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    async def next_frame(self, seq: int, max_bytes: int) -> StreamFrame:
        """The frame from ``seq``: waits (until the deadline) for a chunk if none is buffered."""
        if not self.base <= seq <= self.base + len(self.buffer):
            raise BadRequest(f"stream seq {seq} is outside {self.base}..{self.base + len(self.buffer)}")
        if self.ended and not self.buffer:
            return StreamFrame(seq=seq, chunks=[], done=self.finished)
        del self.buffer[: seq - self.base]
        self.base = seq
        if not self.buffer and not self.ended:
            with anyio.CancelScope(deadline=self.deadline):
                try:
                    self.buffer.append(await self._recv.receive())
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    self.ended = True
        while not self.ended and len(self.buffer) < MAX_BATCH:
            try:
                self.buffer.append(self._recv.receive_nowait())
            except anyio.WouldBlock:
                break
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                self.ended = True
        n = min(len(self.buffer), MAX_BATCH)
        while True:
            frame = StreamFrame(seq=seq, chunks=self.buffer[:n], done=self.ended and self.finished
                                and n == len(self.buffer))
            try:
                size = len(frame.encode())
            except (cbor2.CBOREncodeError, TypeError, ValueError) as e:
                return self._fail(seq, f"a chunk cannot be encoded: {e}"[:300])
            if size <= max_bytes:
                return frame
            if n <= 1:
                return self._fail(seq, f"a chunk exceeds the frame limit of {max_bytes} bytes")
            n //= 2

    def _fail(self, seq: int, message: str) -> StreamFrame:
        self.stop(Status.SERVER_ERROR, message)
        self._drop()
        return StreamFrame(seq=seq, chunks=[], done=True)
