"""EPLB program without Python loops over experts: the DeepSeek hierarchical policy, vectorized.

Same three steps as the DeepSeek balancer (groups onto nodes, replicas within each node, replicas
onto the node's GPUs) for all layers and nodes at once:

- replication: giving each further replica to the expert with the highest load per replica hands
  out exactly the ``extra`` largest quotients load / k (k = 1, 2, ...), so one top-k selection over
  the quotient table replaces the slot-by-slot loop;
- packing with equal counts: in round r (one per slot of a pack) the next heaviest items, one per
  pack, go heaviest-first to the packs in order of increasing load; the only loop is over the
  rounds (slots per GPU), never over experts or layers.

Needs only numpy.
"""

import numpy as np


def pack_by_rounds(weight, num_packs):
    """Pack each row's items into num_packs packs of equal count; returns (pack_index, rank)."""
    rows, num_items = weight.shape
    per_pack = num_items // num_packs
    order = np.argsort(-weight, axis=-1)
    sorted_weight = np.take_along_axis(weight, order, -1)
    loads = np.zeros((rows, num_packs))
    pack_sorted = np.empty((rows, num_items), dtype=np.int64)
    row_ids = np.arange(rows)[:, None]
    for r in range(per_pack):
        lightest_first = np.argsort(loads, axis=-1)
        pack_sorted[:, r * num_packs:(r + 1) * num_packs] = lightest_first
        loads[row_ids, lightest_first] += sorted_weight[:, r * num_packs:(r + 1) * num_packs]
    pack_index = np.empty_like(pack_sorted)
    np.put_along_axis(pack_index, order, pack_sorted, -1)
    rank = np.empty_like(pack_sorted)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(num_items) // num_packs, order.shape), -1)
    return pack_index, rank


def replica_counts(weight, num_phy):
    """Replicas per item (row-wise, each >= 1, summing to num_phy) minimising the largest
    load per replica: the extra replicas are the largest quotients weight / k. Only the `extra`
    heaviest items can receive one (weight / 1 >= weight / k), so the table has extra x extra entries."""
    rows, num_log = weight.shape
    extra = num_phy - num_log
    counts = np.ones((rows, num_log), dtype=np.int64)
    if extra == 0:
        return counts
    heavy = np.argpartition(-weight, extra - 1, axis=-1)[:, :extra] if extra < num_log else \
        np.broadcast_to(np.arange(num_log), (rows, num_log))
    quotients = (np.take_along_axis(weight, heavy, -1)[:, :, None] / np.arange(1, extra + 1))
    quotients = quotients.reshape(rows, -1)
    top = np.argpartition(-quotients, extra - 1, axis=-1)[:, :extra] // extra
    winners = np.take_along_axis(heavy, top, -1)
    np.add.at(counts, (np.arange(rows)[:, None], winners), 1)
    return counts


def expand(counts):
    """Row-wise list of items repeated by their counts, and each copy's number (0, 1, ...)."""
    rows, num_log = counts.shape
    ends = np.cumsum(counts, axis=-1)
    num_phy = int(ends[0, -1])
    slots = np.arange(num_phy)
    offsets = np.arange(rows)[:, None] * num_phy
    flat_ends = (ends + offsets).ravel()
    item = np.searchsorted(flat_ends, (slots + offsets).ravel(), side="right").reshape(rows, num_phy)
    item -= np.arange(rows)[:, None] * num_log
    copy = slots - np.take_along_axis(ends - counts, item, -1)
    return item, copy


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    if num_groups % num_nodes:
        num_groups, num_nodes = 1, 1
    group_size = num_logical // num_groups
    slots_per_gpu = num_replicas // num_gpus
    per_node_log = num_logical // num_nodes
    per_node_phy = num_replicas // num_nodes
    # 1. groups onto nodes; node-major order of the experts (mlog)
    group_pack, group_rank = pack_by_rounds(weight.reshape(layers, num_groups, group_size).sum(-1),
                                            num_nodes)
    first = (group_pack * (num_groups // num_nodes) + group_rank) * group_size
    log2mlog = (first[:, :, None] + np.arange(group_size)).reshape(layers, -1)
    mlog2log = np.empty_like(log2mlog)
    np.put_along_axis(mlog2log, log2mlog, np.broadcast_to(np.arange(num_logical), log2mlog.shape), -1)
    mlog_load = np.take_along_axis(weight, mlog2log, -1).reshape(-1, per_node_log)
    # 2. replicas within each node
    counts = replica_counts(mlog_load, per_node_phy)
    item, copy = expand(counts)
    # 3. replicas onto the node's GPUs
    replica_load = np.take_along_axis(mlog_load / counts, item, -1)
    pack, rank = pack_by_rounds(replica_load, num_gpus // num_nodes)
    node_slot = pack * slots_per_gpu + rank
    node = np.arange(layers * num_nodes) % num_nodes
    slot = (node[:, None] * per_node_phy + node_slot).reshape(layers, -1)
    expert = np.take_along_axis(mlog2log, (node[:, None] * per_node_log + item).reshape(layers, -1), -1)
    rows = np.arange(layers)[:, None]
    phy2log = np.empty((layers, num_replicas), dtype=np.int64)
    phy2log[rows, slot] = expert
    logcnt = np.take_along_axis(counts.reshape(layers, -1), log2mlog, -1)
    log2phy = np.full((layers, num_logical, num_replicas - num_logical + 1), -1, dtype=np.int64)
    log2phy[rows, expert, copy.reshape(layers, -1)] = slot
    return phy2log, log2phy, logcnt
