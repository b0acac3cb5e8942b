"""EPLB baseline: the DeepSeek expert-parallel load balancer (greedy), written with numpy.

Hierarchical policy when the expert groups divide evenly over the nodes: pack groups onto nodes by
balanced packing, replicate within each node the expert with the highest load per replica until the
node's slots are used, then pack the node's replicas onto its GPUs with equal counts per GPU.
Otherwise the same steps with one group and one node (the global policy). Needs only numpy.
"""

import numpy as np


def balanced_packing(weight, num_packs):
    """Pack the items of every row into num_packs packs of equal item count, greedily.

    Items go in order of decreasing weight, each to the lightest pack that is not yet full.
    Returns (pack_index, rank_in_pack), both shaped like weight.
    """
    rows, num_items = weight.shape
    per_pack = num_items // num_packs
    if per_pack == 1:
        index = np.broadcast_to(np.arange(num_items), weight.shape).copy()
        return index, np.zeros_like(index)
    pack_index = np.full(weight.shape, -1, dtype=np.int64)
    rank_in_pack = np.full(weight.shape, -1, dtype=np.int64)
    for row in range(rows):
        loads = [0.0] * num_packs
        counts = [0] * num_packs
        for item in np.argsort(-weight[row], kind="stable").tolist():
            pack = min((p for p in range(num_packs) if counts[p] < per_pack), key=loads.__getitem__)
            pack_index[row, item] = pack
            rank_in_pack[row, item] = counts[pack]
            loads[pack] += float(weight[row, item])
            counts[pack] += 1
    return pack_index, rank_in_pack


def replicate_experts(weight, num_phy):
    """Give every expert one replica, then the next replica to the expert with the highest load
    per replica, until num_phy replicas exist. Returns (phy2log, rank, logcnt)."""
    rows, num_log = weight.shape
    phy2log = np.broadcast_to(np.arange(num_phy), (rows, num_phy)).copy()
    rank = np.zeros((rows, num_phy), dtype=np.int64)
    logcnt = np.ones((rows, num_log), dtype=np.int64)
    row_ids = np.arange(rows)
    for slot in range(num_log, num_phy):
        chosen = np.argmax(weight / logcnt, axis=-1)
        phy2log[:, slot] = chosen
        rank[:, slot] = logcnt[row_ids, chosen]
        logcnt[row_ids, chosen] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    """Row-wise inverse of a batch of permutations."""
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.broadcast_to(np.arange(perm.shape[1]), perm.shape), axis=1)
    return inv


def rebalance_hierarchical(weight, num_physical, num_groups, num_nodes, num_gpus):
    layers, num_logical = weight.shape
    group_size = num_logical // num_groups
    groups_per_node = num_groups // num_nodes
    slots_per_gpu = num_physical // num_gpus
    # 1. groups onto nodes
    group_load = weight.reshape(layers, num_groups, group_size).sum(-1)
    group_pack, group_rank = balanced_packing(group_load, num_nodes)
    log2mlog = (((group_pack * groups_per_node + group_rank) * group_size)[:, :, None]
                + np.arange(group_size)).reshape(layers, -1)
    mlog2log = inverse(log2mlog)
    # 2. replicas within each node
    per_node_log = num_logical // num_nodes
    mlog_load = np.take_along_axis(weight, mlog2log, -1).reshape(-1, per_node_log)
    phy2mlog, phyrank, mlogcnt = replicate_experts(mlog_load, num_physical // num_nodes)
    # 3. replicas onto the node's GPUs
    phy_load = np.take_along_axis(mlog_load / mlogcnt, phy2mlog, -1)
    pack, rank = balanced_packing(phy_load, num_gpus // num_nodes)
    pphy2phy = inverse(pack * slots_per_gpu + rank)
    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, -1)
    pphy2mlog = (pphy2mlog.reshape(layers, num_nodes, -1)
                 + np.arange(0, num_logical, per_node_log)[None, :, None]).reshape(layers, -1)
    pphy2log = np.take_along_axis(mlog2log, pphy2mlog, -1)
    pphyrank = np.take_along_axis(phyrank, pphy2phy, -1).reshape(layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(layers, -1), log2mlog, -1)
    return pphy2log, pphyrank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Placement (phy2log, log2phy, logcnt) of every layer's experts on num_replicas slots."""
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    if num_groups % num_nodes == 0:
        phy2log, phyrank, logcnt = rebalance_hierarchical(weight, num_replicas, num_groups, num_nodes,
                                                          num_gpus)
    else:
        phy2log, phyrank, logcnt = rebalance_hierarchical(weight, num_replicas, 1, 1, num_gpus)
    max_replicas = num_replicas - num_logical + 1
    log2phy = np.full((layers, num_logical, max_replicas), -1, dtype=np.int64)
    rows = np.arange(layers)[:, None]
    log2phy[rows, phy2log, phyrank] = np.arange(num_replicas)
    return phy2log, log2phy, logcnt
