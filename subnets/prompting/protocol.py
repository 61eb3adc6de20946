"""The prompting subnet's one message: a prompt to complete, streamed back token by token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

from taonet.kernel import StreamingSynapse

__all__ = ["Complete"]


class Complete(StreamingSynapse):
    """The validator sends ``prompt``, a sampling ``seed`` and a ``length``; the miner streams ``[token, logprob]``
    chunks (integers: a token id of the model's vocabulary and its log2-probability in 1/65536 bit), which the
    validator assembles into ``tokens`` and ``logprobs``."""

    CHUNK: ClassVar[Any] = list[int]
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("tokens", "logprobs")
    prompt: str
    seed: int
    length: int
    tokens: list[int] | None = None
    logprobs: list[int] | None = None

    def assemble(self, chunks: Sequence[Any]) -> Self:
        """The completion from its chunks (a chunk that is not a ``[token, logprob]`` pair empties it)."""
        if any(len(c) != 2 for c in chunks):
            return self.replace(tokens=[], logprobs=[])
        return self.replace(tokens=[c[0] for c in chunks], logprobs=[c[1] for c in chunks])

    def deserialize(self) -> list[int] | None:
        """The completion's token ids."""
        return self.tokens
