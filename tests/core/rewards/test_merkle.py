"""RFC 6962/9162 Merkle tree hashes and inclusion proofs."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.rewards import inclusion_path, merkle_root, root_from_inclusion_path
from tests.core.rewards.strategies import fast

# The leaves and roots of the Certificate Transparency reference tests (merkle_tree_test.cc).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size):
    assert merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_empty_tree_is_the_hash_of_nothing():
    assert merkle_root([]) == hashlib.sha256(b"").digest()


leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=40, unique=True)


@fast
@given(leaves, st.data())
def test_every_proof_checks_and_an_altered_leaf_fails(items, data):
    root = merkle_root(items)
    for index, leaf in enumerate(items):
        path = inclusion_path(items, index)
        assert root_from_inclusion_path(leaf, index, len(items), path) == root
    index = data.draw(st.integers(0, len(items) - 1))
    other = data.draw(st.binary(max_size=12).filter(lambda b: b != items[index]))
    path = inclusion_path(items, index)
    assert root_from_inclusion_path(other, index, len(items), path) != root
    if len(items) > 1:
        wrong_index = (index + 1) % len(items)
        assert root_from_inclusion_path(items[index], wrong_index, len(items), path) != root


def test_paths_of_the_wrong_length_are_refused():
    items = CT_LEAVES[:5]
    path = inclusion_path(items, 2)
    assert root_from_inclusion_path(items[2], 2, 5, path[:-1]) is None
    assert root_from_inclusion_path(items[2], 2, 5, [*path, path[0]]) is None
    assert root_from_inclusion_path(items[2], 5, 5, path) is None
