"""EPLB seed program: the DeepSeek expert-parallel load balancer (greedy), with evolvable hooks.

``rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)`` places every layer's
logical experts on ``num_replicas`` physical slots (slot s lives on GPU s // slots_per_gpu).
Hierarchical policy when groups divide evenly over nodes: pack expert groups onto nodes, replicate
the expert with the highest load per replica until the node's slots are used, pack the node's
replicas onto its GPUs with equal counts per GPU; otherwise the same with one group and one node.
As written (no shrinking, priority load / count, no refinement passes) it is exactly the DeepSeek
baseline. Needs only numpy.
"""

import numpy as np

# EVOLVE-BLOCK-START


def estimate_load(weight):
    """The load to plan for, from the observed window's load [layers, experts].

    The placement is scored on the next window: shrinking toward the layer mean hedges against
    hot experts cooling down (shrink = 0 plans for exactly the observed load).
    """
    shrink = 0.0
    return (1.0 - shrink) * weight + shrink * weight.mean(axis=-1, keepdims=True)


def replica_priority(load, count):
    """Priority of giving one more replica to each expert (load and current replica count, per
    row); the expert with the highest priority gets the next replica."""
    return load / count


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


def refine_packing(weight, pack_index, rank_in_pack, num_packs):
    """Improve a packing in place by swapping one item of the heaviest pack with one item of the
    lightest pack when that lowers the heavier of the two, up to `passes` times per row."""
    passes = 0
    for row in range(weight.shape[0]):
        for _ in range(passes):
            loads = np.bincount(pack_index[row], weights=weight[row], minlength=num_packs)
            heavy, light = int(np.argmax(loads)), int(np.argmin(loads))
            gap = loads[heavy] - loads[light]
            items_h = np.flatnonzero(pack_index[row] == heavy)
            items_l = np.flatnonzero(pack_index[row] == light)
            delta = weight[row, items_h][:, None] - weight[row, items_l][None, :]
            gain = np.where((delta > 0) & (delta < gap), np.minimum(delta, gap - delta), 0.0)
            best = int(np.argmax(gain))
            if gain.flat[best] <= 0:
                break
            i, j = items_h[best // len(items_l)], items_l[best % len(items_l)]
            pack_index[row, i], pack_index[row, j] = light, heavy
            rank_in_pack[row, i], rank_in_pack[row, j] = rank_in_pack[row, j], rank_in_pack[row, i]
    return pack_index, rank_in_pack


def replicate_experts(weight, num_phy):
    """Give every expert one replica, then each further replica to the expert with the highest
    replica_priority, until num_phy replicas exist. Returns (phy2log, rank, logcnt)."""
    rows, num_log = weight.shape
    phy2log = np.broadcast_to(np.arange(num_phy), (rows, num_phy)).copy()
    rank = np.zeros((rows, num_phy), dtype=np.int64)
    logcnt = np.ones((rows, num_log), dtype=np.int64)
    row_ids = np.arange(rows)
    for slot in range(num_log, num_phy):
        chosen = np.argmax(replica_priority(weight, logcnt), axis=-1)
        phy2log[:, slot] = chosen
        rank[:, slot] = logcnt[row_ids, chosen]
        logcnt[row_ids, chosen] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    """Row-wise inverse of a batch of permutations."""
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.broadcast_to(np.arange(perm.shape[1]), perm.shape), axis=1)
    return inv


def place(weight, num_physical, num_groups, num_nodes, num_gpus):
    """(phy2log, phyrank, logcnt) for load weight [layers, experts]: phyrank[l, s] numbers the
    replicas of the expert in slot s from 0."""
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
    pack, rank = refine_packing(phy_load, pack, rank, num_gpus // num_nodes)
    pphy2phy = inverse(pack * slots_per_gpu + rank)
    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, -1)
    pphy2mlog = (pphy2mlog.reshape(layers, num_nodes, -1)
                 + np.arange(0, num_logical, per_node_log)[None, :, None]).reshape(layers, -1)
    pphy2log = np.take_along_axis(mlog2log, pphy2mlog, -1)
    pphyrank = np.take_along_axis(phyrank, pphy2phy, -1).reshape(layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(layers, -1), log2mlog, -1)
    return pphy2log, pphyrank, logcnt


def policy(num_groups, num_nodes):
    """(groups, nodes) to place with: hierarchical when groups divide evenly over nodes, else one
    group on one node (the global policy)."""
    if num_groups % num_nodes == 0:
        return num_groups, num_nodes
    return 1, 1


# EVOLVE-BLOCK-END


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Placement of every layer's experts on num_replicas slots.

    weight: [layers, experts] load of each logical expert in the last window. Returns phy2log
    [layers, num_replicas] (expert in each slot), log2phy [layers, experts, max_replicas] (slots of
    each expert, -1 padded) and logcnt [layers, experts] (replica counts), all int64.
    """
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    groups, nodes = policy(num_groups, num_nodes)
    phy2log, phyrank, logcnt = place(estimate_load(weight), num_replicas, groups, nodes, num_gpus)
    max_replicas = num_replicas - num_logical + 1
    log2phy = np.full((layers, num_logical, max_replicas), -1, dtype=np.int64)
    log2phy[np.arange(layers)[:, None], phy2log, phyrank] = np.arange(num_replicas)
    return phy2log, log2phy, logcnt
