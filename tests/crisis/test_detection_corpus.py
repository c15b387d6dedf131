"""The shipped default rules (data migration 0002) against the corpus: recall must be 100%.

Vietnamese lines run twice: as written (with diacritics) and stripped of them, as people often
type. The false-positive rate is printed, not bounded: we err on the side of flagging."""

import pytest

from crisis.detection import detect_risk, strip_marks
from tests.crisis.corpus import EN_ORDINARY, EN_RISK, VI_ORDINARY, VI_RISK

pytestmark = pytest.mark.django_db

CASES = {
    "en": (EN_RISK, EN_ORDINARY, False),
    "vi (with diacritics)": (VI_RISK, VI_ORDINARY, False),
    "vi (without diacritics)": (VI_RISK, VI_ORDINARY, True),
}


def test_corpus_sizes():
    assert len(EN_RISK) >= 60 and len(EN_ORDINARY) >= 60
    assert len(VI_RISK) >= 60 and len(VI_ORDINARY) >= 60
    # The stripped variant really differs from the original for Vietnamese.
    assert sum(strip_marks(s) != s.lower() for s in VI_RISK) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_recall_is_total_and_false_positives_are_reported(name, capsys):
    risk, ordinary, stripped = CASES[name]
    language = "vi" if name.startswith("vi") else "en"

    def prepare(text: str) -> str:
        return strip_marks(text) if stripped else text

    missed = [s for s in risk if detect_risk(text=prepare(s), language=language) is None]
    flagged = [s for s in ordinary if detect_risk(text=prepare(s), language=language) is not None]
    recall = 1 - len(missed) / len(risk)
    false_positive_rate = len(flagged) / len(ordinary)
    with capsys.disabled():
        print(f"\n[detector corpus] {name}: {len(risk)} risk, {len(ordinary)} ordinary; "
              f"recall {recall:.1%}, false-positive rate {false_positive_rate:.1%}"
              + (f" (flagged: {flagged})" if flagged else ""))
    assert missed == []
    assert recall == 1.0


def test_corpus_false_positive_rates_are_exactly_as_measured():
    """Pins today's figures so a rule change that flags ordinary talk is noticed."""
    en = [s for s in EN_ORDINARY if detect_risk(text=s)]
    vi = [s for s in VI_ORDINARY if detect_risk(text=s)]
    vi_plain = [s for s in VI_ORDINARY if detect_risk(text=strip_marks(s))]
    assert en == []
    assert vi == []
    # "từ từ" (slowly) typed without accents is "tu tu", as is "tự tử" (suicide): ambiguous,
    # so it is flagged on purpose; a clinician decides.
    assert vi_plain == ["Tôi muốn giảm thuốc từ từ"]
