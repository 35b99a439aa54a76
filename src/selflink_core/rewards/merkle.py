"""RFC 9162 (Certificate Transparency v2) Merkle tree hashes and inclusion proofs over byte leaves.

Lets a contributor check their payouts row against a published root without the other rows.
"""

import hashlib
from collections.abc import Sequence


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split_point(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree_root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = _split_point(len(hashes))
    return node_hash(_subtree_root(hashes[:split]), _subtree_root(hashes[split:]))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(leaves): SHA-256 of nothing for an empty list."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _subtree_root([leaf_hash(leaf) for leaf in leaves])


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    hashes = [leaf_hash(leaf) for leaf in leaves]
    path: list[bytes] = []
    while len(hashes) > 1:
        split = _split_point(len(hashes))
        if index < split:
            path.append(_subtree_root(hashes[split:]))
            hashes = hashes[:split]
        else:
            path.append(_subtree_root(hashes[:split]))
            hashes = hashes[split:]
            index -= split
    path.reverse()
    return path


def root_from_inclusion_path(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes]
) -> bytes | None:
    """The root that `path` leads to from `leaf` (RFC 9162 §2.1.3.2), or None if it cannot.

    None means the path has the wrong length for `index` in a tree of `tree_size` leaves.
    """
    if not 0 <= index < tree_size:
        return None
    fn, sn = index, tree_size - 1
    result = leaf_hash(leaf)
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return result
