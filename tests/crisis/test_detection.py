import pytest

from crisis.detection import RiskMatch, detect_risk, normalise, strip_marks
from crisis.models import RiskRule
from crisis.services import risk_rules_changed

pytestmark = pytest.mark.django_db


def only_rules(*rules: tuple[str, str, str]) -> list[RiskRule]:
    RiskRule.objects.all().delete()
    created = [RiskRule.objects.create(language=lang, kind=kind, pattern=pattern)
               for lang, kind, pattern in rules]
    risk_rules_changed()
    return created


def test_strip_marks_and_normalise():
    assert strip_marks("Tự Tử") == "tu tu"
    assert strip_marks("Đi đâu") == "di dau"
    assert normalise("I DON'T want to live!!") == "i don t want to live"
    assert normalise("Không muốn sống, nữa…") == "khong muon song nua"


def test_match_reports_the_rule():
    (rule,) = only_rules(("vi", "phrase", "tự tử"))
    assert detect_risk(text="Tôi muốn tự tử", language="vi") == RiskMatch(
        rule_id=rule.pk, phrase="tự tử", language="vi"
    )


@pytest.mark.parametrize("text", ["Tôi muốn tự tử", "toi muon tu tu", "TOI MUON TU TU",
                                  "tôi muốn tự tu", "Tự-tử"])
def test_vietnamese_with_and_without_diacritics(text):
    only_rules(("vi", "phrase", "tự tử"))
    assert detect_risk(text=text) is not None


@pytest.mark.parametrize("text", ["Đi từ từ thôi", "tư tú", "tutu"])
def test_typed_diacritics_must_agree_and_words_are_whole(text):
    only_rules(("vi", "phrase", "tự tử"))
    assert detect_risk(text=text) is None


def test_d_with_stroke_maps_to_d_both_ways():
    only_rules(("vi", "phrase", "đi chết"))
    assert detect_risk(text="mày đi chết đi") is not None
    assert detect_risk(text="may di chet di") is not None


def test_prefix_wildcard_and_whole_words():
    only_rules(("en", "phrase", "kill* myself"))
    assert detect_risk(text="I was killing myself slowly") is not None
    assert detect_risk(text="skill myself up") is None


def test_regex_rules_run_on_normalised_text():
    only_rules(("en", "regex", r"\bdon t want to live\b"))
    assert detect_risk(text="I DON'T want to live") is not None
    assert detect_risk(text="I want to live") is None


def test_every_language_is_tried_language_only_orders():
    en, vi = only_rules(("en", "phrase", "suicide"), ("vi", "phrase", "tự tử"))
    assert detect_risk(text="suicide, tự tử", language="vi").rule_id == vi.pk
    assert detect_risk(text="suicide, tự tử", language="en").rule_id == en.pk
    assert detect_risk(text="tu tu", language="en").rule_id == vi.pk


def test_inactive_rules_and_empty_text():
    (rule,) = only_rules(("en", "phrase", "suicide"))
    assert detect_risk(text="") is None
    assert detect_risk(text="   ") is None
    RiskRule.objects.filter(pk=rule.pk).update(active=False)
    risk_rules_changed()
    assert detect_risk(text="suicide") is None


def test_rule_edits_are_seen_after_rules_changed():
    only_rules(("en", "phrase", "first phrase"))
    assert detect_risk(text="second phrase") is None
    RiskRule.objects.create(language="en", pattern="second phrase")
    risk_rules_changed()
    assert detect_risk(text="second phrase") is not None


def test_a_broken_regex_is_skipped_not_fatal():
    only_rules(("en", "regex", "(unclosed"), ("en", "phrase", "suicide"))
    assert detect_risk(text="suicide").phrase == "suicide"


def test_default_rules_exist_after_migrations():
    assert RiskRule.objects.filter(language="en", active=True).count() >= 40
    assert RiskRule.objects.filter(language="vi", active=True).count() >= 40
