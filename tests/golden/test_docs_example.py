"""docs/rewards-format.md's worked example is exactly what the code produces."""

from tests.golden.docs_example import DOC, doc_blocks, example_blocks


def test_the_worked_example_in_the_docs_is_current():
    assert doc_blocks(DOC.read_text(encoding="utf-8")) == example_blocks()
