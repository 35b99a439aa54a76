"""Same bytes in fresh interpreters with different hash seeds."""

from tests.core.hash_seeds import outputs_across_hash_seeds

SCRIPT = """
import datetime as dt, hashlib, sys
from selflink_core.astro import BirthData, birth_features
from selflink_core.matching import (
    CandidateMatrix, Person, ProfileAnswers, rank, score, select_page,
)
a = Person(
    chart=birth_features(BirthData(dt.date(1990, 5, 17), dt.time(14, 30), 52.52, 13.405, "Europe/Berlin")),
    profile=ProfileAnswers.from_dict({"values": ["stability", "honesty", "humor"],
        "interests": ["yoga", "books", "hiking"], "lifestyle": {"sleep": "early_bird"}}),
)
b = Person(
    chart=birth_features(BirthData(dt.date(1988, 11, 2), None, 48.8566, 2.3522, "Europe/Paris")),
    profile=ProfileAnswers.from_dict({"interests": ["hiking", "yoga"], "values": ["humor"],
        "love_languages": ["quality_time"], "lifestyle": {"sleep": "flexible"}}),
)
c = Person(life_path=11, profile=ProfileAnswers.from_dict({"values": ["honesty"]}))
ranking = rank(a, CandidateMatrix.from_people([b, c, a]))
page = select_page(ranking.ranking_scores, ranking.lenses, ["b", "c", "a"], page_size=5)
payload = score(a, b).to_json() + score(b, c).to_json() + ranking.totals.tobytes() + ranking.ranking_scores.tobytes()
payload += repr(page).encode()
sys.stdout.write(hashlib.sha256(payload).hexdigest())
"""


def test_same_bytes_across_hash_seeds() -> None:
    assert len(outputs_across_hash_seeds(SCRIPT)) == 1
