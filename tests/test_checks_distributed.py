"""Every check of notebook 11 accepts the reference answer and rejects typical wrong answers."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed
from course_lib.checks import distributed as checks

# ----------------------------------------------------------------------------- exercise 1


def ring_all_gather(rank, world_size, shard, send, recv):
    shards = [None] * world_size
    shards[rank] = shard
    for s in range(world_size - 1):
        send(shards[(rank - s) % world_size])
        shards[(rank - s - 1) % world_size] = recv()
    return torch.cat(shards)


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(ring_all_gather)
    assert "correct" in capsys.readouterr().out


def _recv_first(rank, world_size, shard, send, recv):
    shards = [None] * world_size
    shards[rank] = shard
    for s in range(world_size - 1):
        shards[(rank - s - 1) % world_size] = recv()
        send(shards[(rank - s) % world_size])
    return torch.cat(shards)


def _arrival_order(rank, world_size, shard, send, recv):
    got = [shard]
    for _ in range(world_size - 1):
        send(got[-1])
        got.append(recv())
    return torch.cat(got)


def _send_everything(rank, world_size, shard, send, recv):
    shards = {rank: shard}
    for s in range(world_size - 1):
        send(torch.cat([shards[k] for k in sorted(shards)]))
        received = recv()
        shards[(rank - s - 1) % world_size] = received[-shard.numel():] if s == 0 else None
        shards = {k: v for k, v in shards.items() if v is not None}
        shards[(rank - s - 1) % world_size] = received[:shard.numel()]
    return torch.cat([shards.get(r, shard) for r in range(world_size)])


@pytest.mark.parametrize("wrong, message", [
    (_recv_first, "deadlock"),
    (_arrival_order, "wrong order"),
    (lambda rank, world_size, shard, send, recv: shard, "only one shard"),
    (_send_everything, "sent|returned"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


def test_ex1_reports_the_unsent_message_as_deadlock():
    with pytest.raises(CheckFailed, match="deadlock"):
        checks.exercise_1(_recv_first)


# ----------------------------------------------------------------------------- exercise 2


def zero_bytes_per_rank(n_params, world_size, stage):
    weights, grads, optim = 2 * n_params, 2 * n_params, 12 * n_params
    sharded = {0: 0, 1: optim, 2: optim + grads, 3: optim + grads + weights}[stage]
    return weights + grads + optim - sharded + sharded / world_size


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(zero_bytes_per_rank)
    out = capsys.readouterr().out
    assert "correct" in out and "31.4" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda p, n, s: zero_bytes_per_rank(p, n, s) / 1e9, "gigabytes"),
    (lambda p, n, s: zero_bytes_per_rank(p, n, 1 if s == 2 else s), "stage 1's value"),
    (lambda p, n, s: 16 * p / n, "stage 3's value"),
    (lambda p, n, s: zero_bytes_per_rank(p, n, s) / (n if s == 1 else 1), "factor world_size"),
    (lambda p, n, s: 4 * p / (n if s else 1), "expected"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


# ----------------------------------------------------------------------------- exercise 3


def accumulate_gradients(model, micro_batches):
    model.zero_grad()
    total = sum(len(y) for _, y in micro_batches)
    for x, y in micro_batches:
        (F.cross_entropy(model(x), y) * len(y) / total).backward()
    return model


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(accumulate_gradients)
    assert "8/18" in capsys.readouterr().out


def _equal_weights(model, micro_batches):
    model.zero_grad()
    for x, y in micro_batches:
        (F.cross_entropy(model(x), y) / len(micro_batches)).backward()
    return model


def _no_zero_grad(model, micro_batches):
    total = sum(len(y) for _, y in micro_batches)
    for x, y in micro_batches:
        (F.cross_entropy(model(x), y) * len(y) / total).backward()
    return model


def _concatenated(model, micro_batches):
    model.zero_grad()
    x = torch.cat([x for x, _ in micro_batches])
    y = torch.cat([y for _, y in micro_batches])
    F.cross_entropy(model(x), y).backward()
    return model


def _unweighted_sum(model, micro_batches):
    model.zero_grad()
    for x, y in micro_batches:
        F.cross_entropy(model(x), y).backward()
    return model


def _sum_loss(model, micro_batches):
    model.zero_grad()
    for x, y in micro_batches:
        F.cross_entropy(model(x), y, reduction="sum").backward()
    return model


@pytest.mark.parametrize("wrong, message", [
    (_equal_weights, "equally"),
    (_no_zero_grad, "zero_grad"),
    (_concatenated, "put the micro-batches together"),
    (_unweighted_sum, "without weights"),
    (_sum_loss, "constant factor"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)


# ----------------------------------------------------------------------------- exercise 4


def shard_indices(n, rank, world_size, epoch, seed=0):
    g = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(n, generator=g).tolist()
    total = math.ceil(n / world_size) * world_size
    while len(order) < total:
        order += order[:total - len(order)]
    return order[rank:total:world_size]


def test_ex4_accepts_reference(capsys):
    checks.exercise_4(shard_indices)
    assert "correct" in capsys.readouterr().out


def _uses_the_sampler(n, rank, world_size, epoch, seed=0):
    from torch.utils.data.distributed import DistributedSampler
    s = DistributedSampler(range(n), num_replicas=world_size, rank=rank, seed=seed)
    s.set_epoch(epoch)
    return list(s)


def _no_padding(n, rank, world_size, epoch, seed=0):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    return order[rank::world_size]


def _blocks(n, rank, world_size, epoch, seed=0):
    per = math.ceil(n / world_size)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    order = (order * (world_size + 1))[:per * world_size]
    return order[rank * per:(rank + 1) * per]


def _own_seed(n, rank, world_size, epoch, seed=0):
    return shard_indices(n, 0, 1, epoch, seed + rank)[:math.ceil(n / world_size)]


@pytest.mark.parametrize("wrong, message", [
    (_uses_the_sampler, "calls torch.utils.data.distributed.DistributedSampler"),
    (_no_padding, "ceil"),
    (_blocks, "contiguous block"),
    (lambda n, r, w, e, s=0: shard_indices(n, r, w, 0, s), "epoch 0's indices"),
    (_own_seed, "its own seed"),
    (lambda n, r, w, e, s=0: shard_indices(n, r, w, e, s + 1), "DistributedSampler gives"),
])
def test_ex4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_4(wrong)
