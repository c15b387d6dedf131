"""Risk detection: one function judges a text against the admin-editable rules.

Texts and phrases are compared word by word after normalisation (lower case, Unicode NFC,
Vietnamese diacritics stripped and đ mapped to d). A word typed WITH diacritics must match the
phrase's diacritics exactly ("từ từ", slowly, is not "tự tử"); a word typed WITHOUT them matches
any phrase word that strips to it ("tu tu" matches "tự tử"): people often type without accents,
and we err on the side of flagging. A trailing `*` on a phrase word matches any word that starts
with it ("suicid*"). Regex rules run on the stripped, space-joined words.

Every active rule of every language is tried (a patient may switch languages mid-sentence);
the `language` argument only decides which rules are tried first. Rules are cached per process
and reloaded when an admin edits them (a version key in the shared cache) or after a minute.
"""

import re
import time
import unicodedata
from dataclasses import dataclass
from threading import Lock

from django.core.cache import cache

CACHE_VERSION_KEY = "crisis:risk-rules-version"
LOCAL_TTL_SECONDS = 60
# Edits made in another process are seen within this many seconds.
VERSION_CHECK_SECONDS = 5
MAX_TEXT_CHARS = 20_000

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class RiskMatch:
    rule_id: int
    phrase: str
    language: str


@dataclass(frozen=True)
class _Word:
    exact: str  # lower case, NFC, diacritics kept
    plain: str  # diacritics stripped, đ -> d
    has_marks: bool


@dataclass(frozen=True)
class _PhraseRule:
    rule_id: int
    phrase: str
    language: str
    words: tuple[_Word, ...]
    prefix_last: tuple[bool, ...]  # per word: ends with "*"


@dataclass(frozen=True)
class _RegexRule:
    rule_id: int
    phrase: str
    language: str
    regex: re.Pattern


def strip_marks(text: str) -> str:
    """Lower case without diacritics; đ becomes d. 'Tự Tử' -> 'tu tu'."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _words(text: str) -> list[_Word]:
    words = []
    for raw in _WORD.findall(unicodedata.normalize("NFC", text.lower())):
        plain = strip_marks(raw)
        words.append(_Word(exact=raw, plain=plain, has_marks=plain != raw))
    return words


def normalise(text: str) -> str:
    """The stripped, space-joined words of a text: what regex rules see."""
    return " ".join(word.plain for word in _words(text))


def _compile(rule_id: int, kind: str, pattern: str, language: str):
    if kind == "regex":
        try:
            return _RegexRule(rule_id, pattern, language, re.compile(pattern))
        except re.error:
            return None  # the admin form validates patterns; a bad one is skipped, not fatal
    words: list[_Word] = []
    prefixes: list[bool] = []
    for token in pattern.split():
        prefix = token.endswith("*")
        parts = _words(token.rstrip("*"))
        if not parts:
            continue
        for index, part in enumerate(parts):
            words.append(part)
            prefixes.append(prefix and index == len(parts) - 1)
    if not words:
        return None
    return _PhraseRule(rule_id, pattern, language, tuple(words), tuple(prefixes))


class _RuleCache:
    def __init__(self) -> None:
        self._lock = Lock()
        self._rules: list | None = None
        self._loaded_at = 0.0
        self._version = None
        self._version_checked_at = 0.0

    def rules(self) -> list:
        now = time.monotonic()
        fresh = now - self._loaded_at < LOCAL_TTL_SECONDS
        if self._rules is not None and fresh:
            # The shared version key is read at most every few seconds, not on every message:
            # on the chat hot path each read would be a Redis round trip (often a new connection).
            if now - self._version_checked_at < VERSION_CHECK_SECONDS:
                return self._rules
            version = cache.get(CACHE_VERSION_KEY)
            self._version_checked_at = now
            if version == self._version:
                return self._rules
        version = cache.get(CACHE_VERSION_KEY)
        with self._lock:
            from .models import RiskRule

            rows = RiskRule.objects.filter(active=True).values_list(
                "pk", "kind", "pattern", "language"
            )
            compiled = [_compile(*row) for row in rows]
            self._rules = [rule for rule in compiled if rule is not None]
            self._loaded_at = time.monotonic()
            self._version = version
            self._version_checked_at = time.monotonic()
            return self._rules

    def clear(self) -> None:
        with self._lock:
            self._rules = None


_cache = _RuleCache()


def rules_changed() -> None:
    """Call after rules are edited: every process reloads them on its next check."""
    cache.set(CACHE_VERSION_KEY, time.time_ns(), timeout=None)
    _cache.clear()


def _word_matches(text_word: _Word, rule_word: _Word, prefix: bool) -> bool:
    if prefix:
        if not text_word.plain.startswith(rule_word.plain):
            return False
        # Typed with marks: the marked prefix must agree too.
        return not text_word.has_marks or text_word.exact.startswith(rule_word.exact)
    if text_word.plain != rule_word.plain:
        return False
    return not text_word.has_marks or text_word.exact == rule_word.exact


def _phrase_matches(words: list[_Word], rule: _PhraseRule) -> bool:
    size = len(rule.words)
    for start in range(len(words) - size + 1):
        if all(
            _word_matches(words[start + i], rule.words[i], rule.prefix_last[i])
            for i in range(size)
        ):
            return True
    return False


def detect_risk(*, text: str, language: str | None = None) -> RiskMatch | None:
    """The first active rule that matches `text`, or None. Rules of `language` are tried first."""
    if not text or not text.strip():
        return None
    words = _words(text[:MAX_TEXT_CHARS])
    if not words:
        return None
    plain_text = " ".join(word.plain for word in words)
    rules = _cache.rules()
    if language:
        rules = sorted(rules, key=lambda rule: rule.language != language)
    for rule in rules:
        if isinstance(rule, _RegexRule):
            matched = rule.regex.search(plain_text) is not None
        else:
            matched = _phrase_matches(words, rule)
        if matched:
            return RiskMatch(rule_id=rule.rule_id, phrase=rule.phrase, language=rule.language)
    return None
