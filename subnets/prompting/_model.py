"""The prompting subnet's language model: a smoothed trigram model of Shakespeare's Sonnets (1609, public domain;
``sonnets.txt`` ships in the package), built at first use in well under a second, with exact integer arithmetic so
that a miner and a validator on any machines agree bit for bit.

- **Tokens**: lowercased words (with inner apostrophes) and the punctuation ``. , ; : ! ?``; the vocabulary is
  ordered by count, then alphabetically.
- **Probability** of token w after (h2, h1): the mixture ``(8 c3(w)/D3 + 4 c2(w)/D2 + 2 c1(w)/N + 1/V) / K`` of the
  trigram, bigram and unigram relative counts and the uniform distribution, where a component whose context was never
  seen is left out (and its weight from K). It is an exact rational number.
- **Log-probability**: ``floor(65536 * log2(p))`` (a negative integer: 1/65536 of a bit), computed with integers only
  (repeated squaring at 62 bits of precision), so it is the same everywhere.
- **Sampling**: at position i of a completion with seed s, a 128-bit integer from blake2b(s, i) picks a component in
  proportion to its weight, then a token within it in proportion to its counts (so a token's chance is exactly p).

The counts are cached on disk (``cache_dir``) as canonical CBOR with a blake2b checksum and the text's SHA-256; a cache
that does not match is rebuilt.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import cbor2

__all__ = ["FRAC_BITS", "Model", "load_model", "log2_fixed", "tokenize"]

FRAC_BITS = 16
"""Log-probabilities are in units of 2**-FRAC_BITS bits."""
_PRECISION = 62
WEIGHTS = (8, 4, 2, 1)
"""Mixture weights of the trigram, bigram, unigram and uniform components."""
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|[.,;:!?]")
CACHE_VERSION = 1
_MODELS: dict[str, Model] = {}
_LOCK = threading.Lock()


def tokenize(text: str) -> list[str]:
    """The text's tokens (lowercased words and punctuation)."""
    return _TOKEN.findall(text.lower())


def log2_fixed(num: int, den: int) -> int:
    """``floor(2**FRAC_BITS * log2(num / den))`` for positive integers, with integer arithmetic only (deterministic
    on every machine; the last bit may differ from the real logarithm's, the same way everywhere)."""
    if num <= 0 or den <= 0:
        raise ValueError("log2_fixed needs positive integers")
    if num < den:
        return -_log2_ge1(den, num, ceil=True)
    return _log2_ge1(num, den, ceil=False)


def _log2_ge1(n: int, d: int, *, ceil: bool) -> int:
    e = n.bit_length() - d.bit_length()
    if e > 0 and (d << e) > n:
        e -= 1
    elif e < 0 or (e == 0 and d > n):
        e = 0
    one = 1 << _PRECISION
    z = (n << _PRECISION) // (d << e)  # z / 2**P in [1, 2)
    frac = 0
    exact = z * (d << e) == (n << _PRECISION)
    for _ in range(FRAC_BITS):
        z = (z * z) >> _PRECISION
        frac <<= 1
        if z >= 2 * one:
            frac |= 1
            z >>= 1
    value = (e << FRAC_BITS) | frac
    if ceil and not (exact and z == one):  # -floor(-x) for the negative side
        value += 1
    return value


class _Table:
    """The continuations of one context: tokens in id order, their counts cumulated, and the total."""

    __slots__ = ("counts", "cum", "tokens", "total")

    def __init__(self, counter: Counter[int]) -> None:
        self.tokens = sorted(counter)
        self.counts = {t: counter[t] for t in self.tokens}
        acc, cum = 0, []
        for t in self.tokens:
            acc += counter[t]
            cum.append(acc)
        self.cum = cum
        self.total = acc

    def pick(self, r: int) -> int:
        return self.tokens[bisect.bisect_right(self.cum, r % self.total)]


class Model:
    """The trigram model: ``vocab`` (id -> token), ``encode``/``decode``, ``logprob`` and ``generate``."""

    def __init__(self, vocab: list[str], stream: list[int]) -> None:
        self.vocab = vocab
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.stream = stream
        self.V = len(vocab)
        uni: Counter[int] = Counter(stream)
        bi: dict[int, Counter[int]] = {}
        tri: dict[tuple[int, int], Counter[int]] = {}
        for a, b in itertools.pairwise(stream):
            bi.setdefault(a, Counter())[b] += 1
        for a, b, c in zip(stream, stream[1:], stream[2:], strict=False):
            tri.setdefault((a, b), Counter())[c] += 1
        self.uni = _Table(uni)
        self.bi = {k: _Table(v) for k, v in bi.items()}
        self.tri = {k: _Table(v) for k, v in tri.items()}

    # --- text ---------------------------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (unknown words are skipped)."""
        return [i for t in tokenize(text) if (i := self.ids.get(t)) is not None]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids, separated by spaces."""
        return " ".join(self.vocab[i] for i in ids if 0 <= i < self.V)

    # --- the distribution ---------------------------------------------------------------------------------------
    def _components(self, h2: int | None, h1: int | None) -> list[tuple[int, _Table | None]]:
        out: list[tuple[int, _Table | None]] = []
        if h2 is not None and h1 is not None and (t3 := self.tri.get((h2, h1))) is not None:
            out.append((WEIGHTS[0], t3))
        if h1 is not None and (t2 := self.bi.get(h1)) is not None:
            out.append((WEIGHTS[1], t2))
        out.append((WEIGHTS[2], self.uni))
        out.append((WEIGHTS[3], None))  # uniform over the vocabulary
        return out

    def probability(self, h2: int | None, h1: int | None, w: int) -> tuple[int, int]:
        """p(w | h2, h1) as an exact fraction ``(numerator, denominator)``."""
        comps = self._components(h2, h1)
        dens = [t.total if t is not None else self.V for _, t in comps]
        prod = 1
        for d in dens:
            prod *= d
        num = 0
        for (k, t), d in zip(comps, dens, strict=True):
            c = t.counts.get(w, 0) if t is not None else 1
            if c:
                num += k * c * (prod // d)
        return num, sum(k for k, _ in comps) * prod

    def logprob(self, h2: int | None, h1: int | None, w: int) -> int:
        """``floor(65536 * log2 p(w | h2, h1))``, exactly (see :func:`log2_fixed`)."""
        num, den = self.probability(h2, h1, w)
        return log2_fixed(num, den)

    def sample(self, h2: int | None, h1: int | None, seed: int, position: int) -> int:
        """The token at ``position`` of a completion with ``seed``, after (h2, h1)."""
        digest = hashlib.blake2b(seed.to_bytes(16, "big", signed=True) + position.to_bytes(8, "big"),
                                 digest_size=16).digest()
        r = int.from_bytes(digest, "big")
        comps = self._components(h2, h1)
        total = sum(k for k, _ in comps)
        pick, r = r % total, r // total
        for k, table in comps:
            if pick < k:
                return table.pick(r) if table is not None else r % self.V
            pick -= k
        raise AssertionError("unreachable")

    def generate(self, context: Sequence[int], seed: int, length: int) -> Iterator[tuple[int, int]]:
        """``length`` (token, logprob) pairs continuing ``context`` with ``seed``."""
        h2 = context[-2] if len(context) >= 2 else None
        h1 = context[-1] if context else None
        for i in range(length):
            w = self.sample(h2, h1, seed, i)
            yield w, self.logprob(h2, h1, w)
            h2, h1 = h1, w

    def check(self, context: Sequence[int], tokens: Sequence[int], logprobs: Sequence[int], seed: int,
              positions: Sequence[int]) -> bool:
        """True when the completion agrees with the model exactly (token and logprob) at every one of
        ``positions``, each recomputed from the completion's own preceding tokens."""
        full = [*context, *tokens]
        n = len(context)
        for i in positions:
            if not 0 <= i < len(tokens):
                return False
            h2 = full[n + i - 2] if n + i >= 2 else None
            h1 = full[n + i - 1] if n + i >= 1 else None
            w = self.sample(h2, h1, seed, i)
            if tokens[i] != w or logprobs[i] != self.logprob(h2, h1, w):
                return False
        return True


def _text() -> str:
    return resources.files(__package__).joinpath("sonnets.txt").read_text(encoding="utf-8")


def _build(text: str) -> tuple[list[str], list[int]]:
    tokens = tokenize(text)
    counts = Counter(tokens)
    vocab = sorted(counts, key=lambda t: (-counts[t], t))
    ids = {t: i for i, t in enumerate(vocab)}
    return vocab, [ids[t] for t in tokens]


def load_model(cache_dir: Path | None = None) -> Model:
    """The model: from this process's memory, else from ``cache_dir``'s cache when its checksum and the text's
    SHA-256 match, else built from the text (and cached there). ``cache_dir`` None: no disk cache."""
    text = _text()
    sha = hashlib.sha256(text.encode()).hexdigest()
    with _LOCK:
        model = _MODELS.get(sha)
        if model is not None:
            return model
        built = _read_cache(cache_dir, sha) if cache_dir is not None else None
        if built is None:
            built = _build(text)
            if cache_dir is not None:
                _write_cache(cache_dir, sha, *built)
        model = Model(*built)
        _MODELS.clear()  # one text: at most one model in memory
        _MODELS[sha] = model
        return model


def _cache_path(cache_dir: Path, sha: str) -> Path:
    return Path(cache_dir) / f"prompting-model-v{CACHE_VERSION}-{sha[:16]}.cbor"


def _read_cache(cache_dir: Path, sha: str) -> tuple[list[str], list[int]] | None:
    path = _cache_path(cache_dir, sha)
    try:
        outer = cbor2.loads(path.read_bytes())
        body = outer["body"]
        if hashlib.blake2b(body, digest_size=32).digest() != outer["checksum"]:
            return None
        inner = cbor2.loads(body)
        if inner["version"] != CACHE_VERSION or inner["text_sha256"] != sha:
            return None
        return list(inner["vocab"]), list(inner["stream"])
    except (OSError, cbor2.CBORDecodeError, KeyError, TypeError, ValueError):
        return None


def _write_cache(cache_dir: Path, sha: str, vocab: list[str], stream: list[int]) -> None:
    path = _cache_path(cache_dir, sha)
    body = cbor2.dumps({"version": CACHE_VERSION, "text_sha256": sha, "vocab": vocab, "stream": stream},
                       canonical=True)
    blob = cbor2.dumps({"checksum": hashlib.blake2b(body, digest_size=32).digest(), "body": body}, canonical=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, path)
    except OSError:  # a read-only folder: the model still works, uncached
        pass
