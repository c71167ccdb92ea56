"""Text to tensors: a data-free tokenizer, a vocabulary, and padding/collate for batches.

The pipeline of notebook 05 (and any other text model)::

    tokens = tokenize("It isn't good.")                 # ['it', 'is', "n't", 'good', '.']
    vocab = Vocab.build(token_lists, min_freq=2)        # <pad> = 0, <unk> = 1, then the words
    ids = vocab.encode(tokens)                          # unknown words -> vocab.unk_id
    x, lengths, y = collate([(ids, 1), (ids2, 0)])      # padded [B, T], lengths [B], labels [B]

The tokenizer is NLTK's Penn Treebank tokenizer, which needs no downloaded NLTK data (unlike
``nltk.word_tokenize``, which needs the "punkt" sentence model).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from nltk.tokenize import TreebankWordTokenizer

PAD = "<pad>"
UNK = "<unk>"
SPECIALS = (PAD, UNK)  # the first ids of every vocabulary: <pad> = 0, <unk> = 1


@cache
def _treebank() -> TreebankWordTokenizer:
    # imported on first use: importing nltk costs about a second (it loads scikit-learn and scipy)
    from nltk.tokenize import TreebankWordTokenizer

    return TreebankWordTokenizer()


# The Treebank tokenizer splits off only the *final* period of its input, so split sentences
# first (after . ! ? followed by white space) -- a data-free stand-in for NLTK's punkt model.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into word tokens (Penn Treebank rules: "isn't" -> "is", "n't"), lower-cased.

    >>> tokenize("It isn't good. Not bad!")
    ['it', 'is', "n't", 'good', '.', 'not', 'bad', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}; "
                        "for a list of texts use [tokenize(t) for t in texts]")
    tokens = [tok for sentence in _SENTENCE_END.split(text.strip()) if sentence
              for tok in _treebank().tokenize(sentence)]
    return [t.lower() for t in tokens] if lower else tokens


class Vocab:
    """Maps tokens to integer ids and back. Special tokens come first (``<pad>`` = 0,
    ``<unk>`` = 1 by default); :meth:`encode` maps unknown tokens to ``<unk>``.

    >>> v = Vocab.build([["a", "b", "a"], ["a", "c"]], min_freq=2); v.tokens
    ['<pad>', '<unk>', 'a']
    """

    def __init__(self, tokens: Sequence[str], unk: str | None = UNK, pad: str | None = PAD) -> None:
        tokens = list(tokens)
        if len(set(tokens)) != len(tokens):
            dup = [t for t, n in Counter(tokens).items() if n > 1][:5]
            raise ValueError(f"a vocabulary cannot contain a token twice; duplicates: {dup}")
        for name, special in (("unk", unk), ("pad", pad)):
            if special is not None and special not in tokens:
                raise ValueError(f"{name}={special!r} is not among the vocabulary's tokens")
        self.tokens: list[str] = tokens
        self.index: dict[str, int] = {t: i for i, t in enumerate(tokens)}
        self.unk_id: int | None = self.index[unk] if unk is not None else None
        self.pad_id: int | None = self.index[pad] if pad is not None else None

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None) -> Vocab:
        """Vocabulary of the tokens seen at least ``min_freq`` times, most frequent first (ties
        alphabetically), after ``<pad>`` and ``<unk>``; ``max_size`` caps the total size.

        >>> len(Vocab.build([["the", "cat"], ["the", "dog"]]))
        5
        """
        if isinstance(token_lists, str) or not isinstance(token_lists, Iterable):
            raise TypeError("Vocab.build expects a list of token lists, e.g. "
                            "[tokenize(t) for t in texts]; got " + type(token_lists).__name__)
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocab.build got a string where a list of tokens was expected; "
                                "tokenize the texts first: [tokenize(t) for t in texts]")
            counts.update(tokens)
        words = sorted((t for t, n in counts.items() if n >= min_freq and t not in SPECIALS),
                       key=lambda t: (-counts[t], t))
        if max_size is not None:
            if max_size < len(SPECIALS):
                raise ValueError(f"max_size={max_size} leaves no room for the {len(SPECIALS)} specials")
            words = words[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *words])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.tokens[:6]}{' ...' if len(self) > 6 else ''})"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; tokens not in the vocabulary become ``unk_id``.

        >>> Vocab(["<pad>", "<unk>", "good"]).encode(["good", "bad"])
        [2, 1]
        """
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens, not a string; "
                            "use vocab.encode(tokenize(text))")
        if self.unk_id is None:
            missing = [t for t in tokens if t not in self.index]
            if missing:
                raise KeyError(f"tokens {missing[:5]} are not in the vocabulary and it has no <unk>")
        return [self.index.get(t, self.unk_id) for t in tokens]  # type: ignore[misc]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (a list or a 1-D tensor), e.g. to read a batch back.

        >>> Vocab(["<pad>", "<unk>", "good"]).decode([2, 1, 0])
        ['good', '<unk>', '<pad>']
        """
        out = []
        for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids):
            if not 0 <= int(i) < len(self.tokens):
                raise IndexError(f"id {i} is outside the vocabulary (0..{len(self.tokens) - 1})")
            out.append(self.tokens[int(i)])
        return out


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0, max_len: int | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id sequences into one tensor ``[B, T]`` (T = longest, or ``max_len`` to
    truncate) and return it with the true ``lengths [B]``.

    >>> pad_batch([[5, 6, 7], [8]])
    (tensor([[5, 6, 7],
            [8, 0, 0]]), tensor([3, 1]))
    """
    if len(sequences) == 0:
        raise ValueError("pad_batch got no sequences")
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    seqs = [list(s)[:max_len] for s in sequences]  # [:None] keeps all
    empty = [i for i, s in enumerate(seqs) if len(s) == 0]
    if empty:
        raise ValueError(f"sequences {empty[:5]} are empty; an RNN needs at least one token "
                         "(drop empty texts, or encode them as [unk_id])")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return ids, lengths


def collate(batch: Sequence[tuple[Sequence[int], int]], pad_id: int = 0, max_len: int | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``collate_fn`` for a DataLoader over ``(ids, label)`` pairs: returns
    ``(ids [B, T], lengths [B], labels [B])`` -- the batch ``model(ids, lengths)`` trains on.

    >>> collate([([5, 6], 1), ([7], 0)])[1]
    tensor([2, 1])
    """
    if len(batch) == 0 or any(not isinstance(item, (tuple, list)) or len(item) != 2 for item in batch):
        raise ValueError("collate expects a non-empty list of (token_ids, label) pairs")
    ids, lengths = pad_batch([item[0] for item in batch], pad_id=pad_id, max_len=max_len)
    labels = torch.tensor([int(item[1]) for item in batch], dtype=torch.long)
    return ids, lengths, labels
