"""Pure cue building shared by the SRT and VTT writers.

The rules (Netflix timed-text conventions, see API-NOTES.md):

- at most ``max_line_width`` characters per line and ``max_lines`` lines per cue; a single word longer
  than a line is the only allowed overflow;
- a cue lasts at most ``max_cue_duration`` seconds (unless one word alone is longer) and, where the
  following silence allows, long enough to be read at ``READING_SPEED`` characters per second and at
  least ``min_cue_duration``: the end is held into the silence, never past the audio end;
- a cue ends ``CUE_GAP`` (two frames) before the next one starts, even when speech runs straight on,
  so consecutive cues read as two events; only a cue that would otherwise be shorter than
  ``min_cue_duration`` may close the gap, and none ever overlaps the next;
- a speaker change, or a pause of ``LONG_PAUSE`` seconds or more, always starts a new cue;
- cues break preferably after a sentence end, then after clause punctuation, then at the longest
  pause, never inside a word, and not where a word would be stranded: right after a word that
  belongs with the next (an article, a preposition, a conjunction, a pronoun subject, a modal, a
  number before what it counts: "the | house", "will | be", "4.2 | million") or one word away from
  punctuation ("capital | budget, not...");
- the lines of a cue are balanced, preferring to break after punctuation and not after such words;
- cues are ordered and disjoint, ``end > start``, on whole milliseconds.

Cue segmentation is a small dynamic programme over each speaker turn that picks the cheapest set of
cues. Every cue costs ``_CUE_COST`` (4), plus up to ``_FILL_COST`` (3) the emptier it is, so
equal-cost choices come out full and balanced. The break that ends a cue costs, by what ends it:

- a sentence end 0, a segment end (segments-only timing) 1, clause punctuation 2;
- anything else 14, less a credit for the pause after it that grows with the square of the pause,
  up to 8 at one second: even then (6) it costs more than punctuation, and a pause under half a
  second (credit at most 2) ranks plain breaks among themselves but cannot pay for the extra cue
  that reaching punctuation takes;
- 12 more, and no pause credit, after a word that belongs with the next (a hesitation after "the"
  is not the end of a phrase), and 8 more one word away from punctuation: either costs more than an
  extra cue, so the programme adds one rather than strand a word, unless in fast speech the extra
  cues would be too short to read (``_SHORT_CUE_COST``).

A cue that also holds pieces of sentences around a sentence end costs extra
(``_MIXED_SENTENCE_COST``); one that could not stay up ``min_cue_duration`` costs
``_SHORT_CUE_COST``; a cue on several lines adds what its line breaks cost (``_LINE_BREAK_COST``,
scaled down by ``_LINE_COST_SCALE``).

Words give the timing when the transcript has them. With segments only, each segment is split into
words whose times are shared out by character count (approximate timing). With neither, captions are
impossible and ``NoTimestampsError`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise

from stt_cli.errors import NoTimestampsError, UsageError
from stt_cli.transcript import Transcript

LONG_PAUSE = 2.0
# Reading speed a cue is held for, in characters per second (spaces count), and the gap every cue
# keeps before the next one: two frames at 24 fps.
READING_SPEED = 17.0
CUE_GAP = 0.083

_SENTENCE_END = (".", "?", "!", "…")
_CLAUSE_END = (",", ";", ":", "\u2014", "\u2013", "--")  # em and en dashes
_CLOSERS = "\"')]}\u201d\u2019\u00bb"  # closing quotes and brackets
# Breaking a line or cue right after these leaves a dangling word ("the | house", "will | be").
_FUNCTION_WORDS = frozenset((
    "a", "an", "the", "to", "of", "in", "on", "at", "by", "for", "from", "with", "into", "onto",
    "and", "or", "but", "nor", "so", "as", "than", "that", "if", "my", "your", "his", "her", "its",
    "our", "their", "this", "these", "those", "is", "are", "was", "were", "be", "i", "we", "you",
    "he", "she", "it", "they", "every", "each", "some", "any", "no", "all", "both", "another",
    "such",
    # modals and negated auxiliaries, which lean on the verb after them ("have" and "do" are
    # left out: as main verbs they end phrases, "the best quarter we have had | since")
    "am", "been", "will", "would", "can", "could", "shall", "should", "may", "might", "must",
    "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't", "wouldn't",
    "can't", "couldn't", "shouldn't", "haven't", "hasn't", "hadn't",
    # a pronoun with its auxiliary
    "i'm", "i've", "i'll", "i'd", "we're", "we've", "we'll", "we'd", "you're", "you've", "you'll",
    "you'd", "they're", "they've", "they'll", "they'd", "he's", "he'll", "he'd", "she's", "she'll",
    "she'd", "it's", "it'll", "that's", "there's", "let's",
))

# Breaking right before these keeps a clause together ("a counter | that it increments").
_CLAUSE_STARTERS = frozenset((
    "and", "but", "or", "so", "because", "which", "that", "who", "whom", "whose", "when", "where",
    "while", "if", "although", "though", "since", "until", "unless", "whether", "whenever",
))
# "that" after these is a pronoun ("Does | that include"), not the start of a clause.
_AUXILIARIES = frozenset((
    "do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "will", "would", "can",
    "could", "should", "may", "might", "must",
))
# Spelled-out numbers, which bind to what they count like digits do ("two | engineers").
_NUMBER_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety", "hundred", "thousand", "million", "billion", "trillion", "half", "dozen",
))
# Two-word prepositions and connectives: the first word belongs with the second ("out | of").
_COMPOUNDS = frozenset((
    ("out", "of"), ("because", "of"), ("instead", "of"), ("ahead", "of"), ("front", "of"),
    ("kind", "of"), ("sort", "of"), ("rather", "than"), ("such", "as"), ("according", "to"),
    ("due", "to"), ("next", "to"), ("up", "to"), ("as", "well"),
))

# Cue costs, explained in the module docstring.
_CUE_COST = 4.0
_FILL_COST = 3.0
_BREAK_COST = {"sentence": 0.0, "segment": 1.0, "clause": 2.0, "plain": 14.0}
_PAUSE_CREDIT = 8.0
_FULL_PAUSE = 1.0  # seconds: a pause this long earns the whole credit
_DANGLING_COST = 12.0  # greater than _CUE_COST: an extra cue is cheaper than a stranded word
_ORPHAN_COST = 8.0
_CLAUSE_START_CREDIT = 1.0  # breaking before "because", "which"... keeps the clause together
# Speech shorter than the minimum cue duration would flash by (or need holding over the silence).
_SHORT_CUE_COST = 3.0
_MIXED_SENTENCE_COST = {"clause": 3.0, "plain": 8.0, "start": 10.0}
# Line costs are in squared characters of slack (so 30/30 beats 40/20 by 200); divided by
# _LINE_COST_SCALE they join the cue costs.
_LINE_BREAK_COST = {"sentence": 0.0, "clause": 25.0, "plain": 200.0}
_LINE_DANGLING_COST = 100.0
# A word stranded beside punctuation ("here; numbers / like these") costs what it does between cues.
_LINE_ORPHAN_COST = 800.0
_LINE_MIXED_SENTENCE_COST = 800.0
_LINE_CLAUSE_START_BONUS = 100.0
_LINE_COST_SCALE = 100.0

NO_TIMESTAMPS_HINT = ("captions need word or segment times: use a whisper or nova model (e.g. -m whisper-1 on "
                      "openai, -m '#g1_nova-2-general' on aiml) on a server that returns them, or ask for "
                      "-f text / -f json")


@dataclass
class CaptionOptions:
    max_line_width: int = 42
    max_lines: int = 2
    max_cue_duration: float = 7.0
    min_cue_duration: float = 5 / 6


@dataclass
class Cue:
    start: float
    end: float
    lines: list[str]
    speaker: str | None = None
    # First cue of a speaker turn: where SRT puts its "[Speaker 1] " label.
    turn_start: bool = False
    # The label is too wide to share a line with any text: it takes the cue's first line, which
    # ``lines`` leaves free.
    label_line: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass
class _Token:
    text: str
    start: int  # milliseconds: the whole engine works on integers so rounding never breaks a rule
    end: int
    speaker: str | None
    ends_segment: bool = False


def build_cues(transcript: Transcript, options: CaptionOptions | None = None, *,
               prefix_width: Callable[[str], int] | None = None) -> list[Cue]:
    """Cut the transcript into caption cues.

    ``prefix_width(speaker)`` is how many characters a writer puts before the first line of the
    first cue of each speaker turn (SRT's ``[Speaker 1] ``); they count toward the line width.
    """
    options = options or CaptionOptions()
    _check_options(options)
    tokens = _monotonic(_tokens(transcript))
    cues: list[Cue] = []
    previous_speaker = None
    for block in _blocks(tokens):
        speaker = block[0].speaker
        new_turn = speaker is not None and speaker != previous_speaker
        reserve = prefix_width(speaker) if prefix_width and new_turn and speaker else 0
        block_cues = _cues_for_block(block, options, reserve)
        block_cues[0].turn_start = new_turn
        cues.extend(block_cues)
        previous_speaker = speaker
    return _fix_timing(cues, options, transcript.duration)


def format_timestamp(seconds: float, decimal_marker: str = ".", always_hours: bool = True) -> str:
    """``HH:MM:SS.mmm``, rounded to the millisecond with carry (1.9996 s is ``00:00:02.000``)."""
    total_ms = round(seconds * 1000) if math.isfinite(seconds) and seconds > 0 else 0
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    hours_part = f"{hours:02d}:" if always_hours or hours else ""
    return f"{hours_part}{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def no_timestamps_error(transcript: Transcript) -> NoTimestampsError:
    # Not "the model returns text only": a server can drop the times too (a text/plain answer, a
    # refused verbose_json), and the message must be true either way.
    source = f"model {transcript.model}" if transcript.model else "this transcript"
    return NoTimestampsError(f"the answer for {source} has no timestamps, so it cannot make captions",
                             hint=NO_TIMESTAMPS_HINT)


# -- tokens -----------------------------------------------------------------------------------

def _check_options(options: CaptionOptions) -> None:
    if options.max_line_width < 1 or options.max_lines < 1:
        raise UsageError("caption line width and lines per cue must be at least 1")
    if not options.max_cue_duration > 0 or options.min_cue_duration < 0:
        raise UsageError("caption durations must be positive")


def _tokens(transcript: Transcript) -> list[_Token]:
    if transcript.words:
        return [_Token(text, _ms(w.start), _ms(w.end), w.speaker)
                for w in transcript.words if (text := " ".join(w.text.split()))]
    if transcript.segments:
        return [token for s in transcript.segments
                for token in _segment_tokens(s.text, s.start, s.end, s.speaker)]
    if transcript.text.strip():
        raise no_timestamps_error(transcript)
    return []


def _segment_tokens(text: str, start: float, end: float, speaker: str | None) -> list[_Token]:
    """Share the segment's time among its words by character count (spaces included)."""
    words = text.split()
    start_ms, end_ms = _ms(start), max(_ms(start), _ms(end))
    total = sum(len(w) + 1 for w in words)
    tokens, used = [], 0
    for word in words:
        begin = start_ms + (end_ms - start_ms) * used // total
        used += len(word) + 1
        finish = start_ms + (end_ms - start_ms) * used // total
        tokens.append(_Token(word, begin, finish, speaker))
    if tokens:
        tokens[-1].ends_segment = True
    return tokens


def _ms(seconds: float) -> int:
    return round(seconds * 1000) if math.isfinite(seconds) and seconds > 0 else 0


def _monotonic(tokens: list[_Token]) -> list[_Token]:
    """Providers occasionally overlap words; trim so each word starts where the previous ends."""
    for previous, token in pairwise(tokens):
        token.start = max(token.start, previous.start)
        previous.end = min(previous.end, token.start)
    for token in tokens:
        token.end = max(token.end, token.start)
    return tokens


def _blocks(tokens: list[_Token]) -> list[list[_Token]]:
    """Runs that no cue may span: one speaker, no long silence."""
    blocks: list[list[_Token]] = []
    for token in tokens:
        if blocks and _continues(blocks[-1][-1], token):
            blocks[-1].append(token)
        else:
            blocks.append([token])
    return blocks


def _continues(previous: _Token, token: _Token) -> bool:
    return token.speaker == previous.speaker and token.start - previous.end < LONG_PAUSE * 1000


# -- cue segmentation -------------------------------------------------------------------------

def _cues_for_block(block: list[_Token], options: CaptionOptions, reserve: int) -> list[Cue]:
    """Cheapest partition of one block into cues (``reserve`` applies to the first cue only).

    A reserve that leaves no room on its line becomes a line of its own, when the cue has two.
    """
    width, max_lines = options.max_line_width, options.max_lines
    label_line = reserve >= width and max_lines > 1
    max_ms = round(options.max_cue_duration * 1000)
    min_ms = round(options.min_cue_duration * 1000)
    count = len(block)
    break_costs = [_cue_break_cost(block, index) for index in range(count - 1)]
    best = [math.inf] * (count + 1)
    best[0] = 0.0
    back = [0] * (count + 1)
    for first in range(count):
        first_reserve = reserve if first == 0 and not label_line else 0
        cue_lines = max_lines - 1 if first == 0 and label_line else max_lines
        capacity = width * cue_lines - first_reserve
        lines, used, chars = 0, 0, -1  # greedy wrap state; ``used`` includes the reserve
        inner_sentence_end = False
        starts_mid_sentence = first > 0 and _punctuation(block[first - 1].text) != "sentence"
        for last in range(first, count):
            length = len(block[last].text)
            chars += length + 1
            if lines == 0:
                lines, used = 1, first_reserve + length
            elif used + 1 + length <= width:
                used += 1 + length
            else:
                lines, used = lines + 1, length
            too_long = block[last].end - block[first].start > max_ms
            if last > first and (lines > cue_lines or too_long):
                break
            cost = best[first] + _CUE_COST + _FILL_COST * _emptiness(chars, capacity)
            kind = _punctuation(block[last].text)
            if last < count - 1:
                cost += break_costs[last]
            if inner_sentence_end:
                cost += _mixed_cue_cost(kind, last == count - 1, starts_mid_sentence)
            if block[last].end - block[first].start < min_ms:
                cost += _SHORT_CUE_COST
            if lines > 1 and cost < best[last + 1]:
                words = tuple(t.text for t in block[first:last + 1])
                cost += _layout(words, width, first_reserve)[0]
            if cost < best[last + 1]:
                best[last + 1], back[last + 1] = cost, first
            inner_sentence_end = inner_sentence_end or kind == "sentence"
    cues = []
    for first, end in _spans(back, count):
        words = tuple(t.text for t in block[first:end])
        own_line = label_line and first == 0
        lines = _layout(words, width, reserve if first == 0 and not own_line else 0)[1]
        cues.append(Cue(start=block[first].start, end=block[end - 1].end, lines=lines,
                        speaker=block[first].speaker, turn_start=False, label_line=own_line))
    return cues


def _mixed_cue_cost(end_kind: str, block_end: bool, starts_mid_sentence: bool) -> float:
    """A cue holding a sentence end should not also hold pieces of other sentences."""
    if starts_mid_sentence:
        return _MIXED_SENTENCE_COST["start"]
    if block_end or end_kind == "sentence":
        return 0.0
    return _MIXED_SENTENCE_COST[end_kind]


def _spans(back: list[int], count: int) -> list[tuple[int, int]]:
    spans = []
    end = count
    while end > 0:
        spans.append((back[end], end))
        end = back[end]
    return spans[::-1]


def _emptiness(chars: int, capacity: int) -> float:
    if capacity <= 0:
        return 0.0
    return (max(0, capacity - chars) / capacity) ** 2


def _cue_break_cost(block: list[_Token], index: int) -> float:
    """What ending a cue after ``block[index]`` costs (the block goes on after it)."""
    token, following = block[index], block[index + 1]
    kind = _punctuation(token.text)
    if kind == "sentence":
        return _BREAK_COST["sentence"]
    if token.ends_segment:
        return _BREAK_COST["segment"]
    if kind == "clause":
        return _BREAK_COST["clause"]
    cost = _BREAK_COST["plain"]
    after_punctuation = index > 0 and _punctuation(block[index - 1].text) != "plain"
    if after_punctuation or _punctuation(following.text) != "plain":
        cost += _ORPHAN_COST
    if _binds_to_next(token.text, following.text):
        return cost + _DANGLING_COST
    pause = (following.start - token.end) / 1000
    cost -= _PAUSE_CREDIT * min(max(pause, 0.0) / _FULL_PAUSE, 1.0) ** 2
    if _starts_clause(following.text, token.text):
        cost -= _CLAUSE_START_CREDIT
    return cost


@lru_cache(maxsize=8192)  # asked again for every candidate cue and line break a word ends
def _punctuation(word: str) -> str:
    stripped = word.rstrip(_CLOSERS)
    if stripped.endswith(_SENTENCE_END):
        return "sentence"
    if stripped.endswith(_CLAUSE_END):
        return "clause"
    return "plain"


def _is_function_word(word: str) -> bool:
    return word.lower().replace("\u2019", "'") in _FUNCTION_WORDS


def _binds_to_next(word: str, following: str) -> bool:
    """True when a break between the two would strand ``word``: an article, a preposition, a
    conjunction opening a clause, a number before what it counts ("two | engineers"), a symbol
    standing for a word ("&", "<")."""
    lowered = word.lower()
    bare = following.rstrip(_CLOSERS + ".,;:?!")
    return (_is_function_word(word) or lowered in _CLAUSE_STARTERS
            or not any(ch.isalnum() for ch in word)
            or (lowered, bare.lower()) in _COMPOUNDS
            or _is_number(word) and bare[:1].islower() and not _is_function_word(bare))


def _is_number(word: str) -> bool:
    lowered = word.lower()
    return lowered in _NUMBER_WORDS or (any(ch.isdigit() for ch in lowered)
                                        and all(ch.isdigit() or ch in "$€£%.,-/" for ch in lowered))


def _starts_clause(word: str, previous: str) -> bool:
    lowered = word.lower()
    if lowered == "that":
        return previous.lower() not in _AUXILIARIES
    return lowered in _CLAUSE_STARTERS


# -- line layout ------------------------------------------------------------------------------

def layout_lines(words: tuple[str, ...], width: int, reserve: int = 0) -> list[str]:
    """Balanced lines: as few as greedy wrapping needs, then the most even split of those.

    ``reserve`` characters are taken from the first line (a speaker prefix).
    """
    return _layout(words, width, reserve)[1]


def _layout(words: tuple[str, ...], width: int, reserve: int) -> tuple[float, list[str]]:
    """The lines and what their breaks cost in cue-cost units (0 for a single line)."""
    needed = _greedy_line_count(words, width, reserve)
    if needed <= 1:
        return 0.0, [" ".join(words)]
    cuts = _balanced_cuts(words, width, needed, reserve)
    bounds = [0, *cuts, len(words)]
    penalty = sum(_line_break_cost(words, cut) for cut in cuts)
    penalty += sum(_mixed_line_cost(words, a, b) for a, b in pairwise(bounds))
    return penalty / _LINE_COST_SCALE, [" ".join(words[a:b]) for a, b in pairwise(bounds)]


def _greedy_line_count(words: tuple[str, ...], width: int, reserve: int) -> int:
    lines, used = 0, 0
    for word in words:
        if lines == 0:
            lines, used = 1, reserve + len(word)
        elif used + 1 + len(word) <= width:
            used += 1 + len(word)
        else:
            lines, used = lines + 1, len(word)
    return lines


def _balanced_cuts(words: tuple[str, ...], width: int, line_count: int,
                   reserve: int) -> tuple[int, ...]:
    """Cut positions setting ``words`` on exactly ``line_count`` lines at the least cost."""
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word))

    def line_cost(start: int, stop: int) -> float:
        cap = width - reserve if start == 0 else width
        length = offsets[stop] - offsets[start] + (stop - start - 1)
        if stop - start == 1 and length > cap:
            return 0.0  # a lone over-long word: the one allowed overflow
        if length > cap:
            return math.inf
        return float((cap - length) ** 2) + _mixed_line_cost(words, start, stop)

    @cache
    def best(start: int, lines_left: int) -> tuple[float, tuple[int, ...]]:
        if lines_left == 1:
            return line_cost(start, len(words)), ()
        result: tuple[float, tuple[int, ...]] = (math.inf, ())
        for cut in range(start + 1, len(words) - lines_left + 2):
            cost = line_cost(start, cut)
            if cost == math.inf:
                break
            rest_cost, rest_cuts = best(cut, lines_left - 1)
            total = cost + _line_break_cost(words, cut) + rest_cost
            if total < result[0]:
                result = (total, (cut, *rest_cuts))
        return result

    return best(0, line_count)[1]


def _line_break_cost(words: tuple[str, ...], cut: int) -> float:
    """What breaking a line before ``words[cut]`` costs, in squared-slack units."""
    word, following = words[cut - 1], words[cut]
    kind = _punctuation(word)
    cost = _LINE_BREAK_COST[kind]
    if kind != "plain":
        return cost
    if _binds_to_next(word, following):
        cost += _LINE_DANGLING_COST
    elif _starts_clause(following, word):
        cost -= _LINE_CLAUSE_START_BONUS
    after_punctuation = cut > 1 and _punctuation(words[cut - 2]) != "plain"
    if after_punctuation or _punctuation(following) != "plain":
        cost += _LINE_ORPHAN_COST
    return cost


def _mixed_line_cost(words: tuple[str, ...], start: int, stop: int) -> float:
    """A line holding a sentence end should hold whole sentences ("that. Could / you give")."""
    if not any(_punctuation(w) == "sentence" for w in words[start:stop - 1]):
        return 0.0
    cut_after = stop < len(words) and _punctuation(words[stop - 1]) != "sentence"
    cut_before = start > 0 and _punctuation(words[start - 1]) != "sentence"
    return _LINE_MIXED_SENTENCE_COST if cut_after or cut_before else 0.0


# -- timing -----------------------------------------------------------------------------------

def _fix_timing(cues: list[Cue], options: CaptionOptions, duration: float | None) -> list[Cue]:
    """Whole milliseconds, disjoint, ``end > start``, and cues held into the silence after them.

    Speech runs faster than people read, so a cue stays up until its text can be read at
    ``READING_SPEED`` (at least the minimum, at most the maximum cue duration), as far as the
    silence after it allows, never past the audio end. Every cue stops ``CUE_GAP`` before the next
    (cutting speech that runs straight on by at most that much); a cue that would otherwise flash
    by may close the gap, never pass the next cue's start.
    """
    previous_end = 0
    for cue in cues:
        cue.start = max(int(cue.start), previous_end)
        cue.end = max(int(cue.end), cue.start + 1)
        previous_end = int(cue.end)
    min_ms = round(min(options.min_cue_duration, options.max_cue_duration) * 1000)
    max_ms = round(options.max_cue_duration * 1000)
    gap_ms = round(CUE_GAP * 1000)
    audio_end = _ms(duration) if duration is not None else None
    for index, cue in enumerate(cues):
        start = int(cue.start)
        reading_ms = math.ceil(len(cue.text) * 1000 / READING_SPEED)
        wanted = start + min(max(reading_ms, min_ms), max_ms)
        end = max(int(cue.end), wanted)
        if index + 1 < len(cues):
            next_start = int(cues[index + 1].start)
            # Speech running straight into the next cue is cut a gap short of it too, unless
            # that would make the cue flash.
            end = max(min(end, next_start - gap_ms), min(start + min_ms, next_start), start + 1)
        elif audio_end is not None:
            end = max(int(cue.end), min(wanted, audio_end))
        cue.end = end
    for cue in cues:
        cue.start, cue.end = cue.start / 1000, cue.end / 1000
    return cues
