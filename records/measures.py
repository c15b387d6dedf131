"""PHQ-9 and GAD-7: exact item texts (English and Vietnamese), scoring and severity bands.

The texts are data, not translatable strings: a validated instrument is shown word for word in
the patient's language, never through a translation catalog that someone might "improve".
PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and
colleagues, with an educational grant from Pfizer Inc.; no permission is required to reproduce,
translate, display or distribute them.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .models import Instrument

STEM = {
    Instrument.PHQ9: {
        "en": "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        "vi": "Trong hai tuần qua, những vấn đề sau đây gây phiền phức cho bạn thường xuyên đến mức độ nào?",
    },
    Instrument.GAD7: {
        "en": "Over the last 2 weeks, how often have you been bothered by the following problems?",
        "vi": "Trong hai tuần qua, những vấn đề sau đây gây phiền phức cho bạn thường xuyên đến mức độ nào?",
    },
}

ITEMS = {
    Instrument.PHQ9: [
        {"en": "Little interest or pleasure in doing things",
         "vi": "Ít muốn làm điều gì hoặc ít có cảm giác thích thú khi làm bất cứ điều gì"},
        {"en": "Feeling down, depressed, or hopeless",
         "vi": "Cảm thấy nản chí, trầm buồn hoặc tuyệt vọng"},
        {"en": "Trouble falling or staying asleep, or sleeping too much",
         "vi": "Khó đi vào giấc ngủ hoặc khó ngủ thẳng giấc hoặc ngủ quá nhiều"},
        {"en": "Feeling tired or having little energy",
         "vi": "Cảm thấy mệt mỏi hoặc có ít sinh lực"},
        {"en": "Poor appetite or overeating",
         "vi": "Chán ăn hoặc ăn quá nhiều"},
        {"en": "Feeling bad about yourself — or that you are a failure or have let yourself or "
               "your family down",
         "vi": "Có suy nghĩ tiêu cực về bản thân mình — hoặc cảm thấy mình là người thất bại hoặc "
               "cảm thấy mình đã làm cho gia đình và chính bản thân thất vọng"},
        {"en": "Trouble concentrating on things, such as reading the newspaper or watching "
               "television",
         "vi": "Khó tập trung vào công việc, như đọc báo hoặc xem ti vi"},
        {"en": "Moving or speaking so slowly that other people could have noticed? Or the "
               "opposite — being so fidgety or restless that you have been moving around a lot "
               "more than usual",
         "vi": "Vận động hoặc nói quá chậm đến mức người khác có thể nhận thấy được. Hoặc quá bồn "
               "chồn hoặc đứng ngồi không yên đến mức bạn đi đi lại lại nhiều hơn thông thường"},
        {"en": "Thoughts that you would be better off dead or of hurting yourself in some way",
         "vi": "Có các suy nghĩ cho rằng chết là điều tốt hơn cho bạn hoặc bạn tính đến chuyện tự "
               "gây tổn hại cơ thể mình"},
    ],
    Instrument.GAD7: [
        {"en": "Feeling nervous, anxious or on edge",
         "vi": "Cảm thấy bồn chồn, lo lắng hoặc căng thẳng"},
        {"en": "Not being able to stop or control worrying",
         "vi": "Không thể ngừng hoặc kiểm soát được sự lo lắng"},
        {"en": "Worrying too much about different things",
         "vi": "Lo lắng quá nhiều về nhiều điều khác nhau"},
        {"en": "Trouble relaxing",
         "vi": "Khó thư giãn"},
        {"en": "Being so restless that it is hard to sit still",
         "vi": "Bồn chồn đến mức khó ngồi yên"},
        {"en": "Becoming easily annoyed or irritable",
         "vi": "Trở nên dễ bực bội hoặc cáu kỉnh"},
        {"en": "Feeling afraid as if something awful might happen",
         "vi": "Cảm thấy sợ hãi như thể có điều gì khủng khiếp sắp xảy ra"},
    ],
}

OPTIONS = [
    (0, {"en": "Not at all", "vi": "Không ngày nào"}),
    (1, {"en": "Several days", "vi": "Vài ngày"}),
    (2, {"en": "More than half the days", "vi": "Hơn một nửa số ngày"}),
    (3, {"en": "Nearly every day", "vi": "Gần như mỗi ngày"}),
]

DIFFICULTY_QUESTION = {
    "en": "If you checked off any problems, how difficult have these problems made it for you to "
          "do your work, take care of things at home, or get along with other people?",
    "vi": "Nếu bạn đã đánh dấu bất kỳ vấn đề nào, những vấn đề này gây khó khăn cho bạn đến mức "
          "nào trong công việc, việc nhà hoặc quan hệ với người khác?",
}
DIFFICULTY_OPTIONS = [
    (0, {"en": "Not difficult at all", "vi": "Không khó khăn gì"}),
    (1, {"en": "Somewhat difficult", "vi": "Hơi khó khăn"}),
    (2, {"en": "Very difficult", "vi": "Rất khó khăn"}),
    (3, {"en": "Extremely difficult", "vi": "Cực kỳ khó khăn"}),
]

# (lowest score of the band, band key, label), ascending.
BANDS = {
    Instrument.PHQ9: [
        (0, "minimal", _("Minimal")),
        (5, "mild", _("Mild")),
        (10, "moderate", _("Moderate")),
        (15, "moderately_severe", _("Moderately severe")),
        (20, "severe", _("Severe")),
    ],
    Instrument.GAD7: [
        (0, "minimal", _("Minimal")),
        (5, "mild", _("Mild")),
        (10, "moderate", _("Moderate")),
        (15, "severe", _("Severe")),
    ],
}
TITLES = {
    Instrument.PHQ9: _("PHQ-9: mood"),
    Instrument.GAD7: _("GAD-7: anxiety"),
}
SELF_HARM_ITEM_INDEX = 8  # PHQ-9 item 9, zero-based


class InvalidAnswers(ValueError):
    pass


def item_count(instrument: str) -> int:
    return len(ITEMS[instrument])


def max_score(instrument: str) -> int:
    return 3 * item_count(instrument)


@dataclass(frozen=True)
class Score:
    total: int
    band: str


def score(instrument: str, answers: list[int]) -> Score:
    if instrument not in ITEMS:
        raise InvalidAnswers(f"unknown instrument {instrument!r}")
    if len(answers) != item_count(instrument):
        raise InvalidAnswers(f"{instrument} has {item_count(instrument)} items, got {len(answers)}")
    if any(type(a) is not int or not 0 <= a <= 3 for a in answers):
        raise InvalidAnswers("each answer must be 0, 1, 2 or 3")
    total = sum(answers)
    band = [key for low, key, _label in BANDS[instrument] if total >= low][-1]
    return Score(total=total, band=band)


def band_label(instrument: str, band: str) -> str:
    for _low, key, label in BANDS[instrument]:
        if key == band:
            return str(label)
    return band


def self_harm_positive(instrument: str, answers: list[int]) -> bool:
    return instrument == Instrument.PHQ9 and answers[SELF_HARM_ITEM_INDEX] > 0


def text_language() -> str:
    return "vi" if (translation.get_language() or "en").startswith("vi") else "en"


def localized(texts: dict[str, str], language: str | None = None) -> str:
    return texts[language or text_language()]
