"""The caption engine: limits, break choices, timing, and properties over random word lists."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stt_cli.captions import (
    CUE_GAP,
    CaptionOptions,
    Cue,
    build_cues,
    format_timestamp,
    layout_lines,
)
from stt_cli.errors import NoTimestampsError
from stt_cli.transcript import Segment, Transcript, Word


def words_at(text: str, start: float = 0.0, step: float = 0.3, speaker: str | None = None,
             gap: float = 0.05) -> list[Word]:
    words = []
    t = start
    for token in text.split():
        words.append(Word(token, round(t, 3), round(t + step - gap, 3), speaker=speaker))
        t += step
    return words


def transcript_of(words: list[Word], **kwargs: object) -> Transcript:
    speakers = list(dict.fromkeys(w.speaker for w in words if w.speaker))
    return Transcript(text=" ".join(w.text for w in words), words=words, speakers=speakers,
                      timing="words", **kwargs)  # type: ignore[arg-type]


def cue_words(cues: list[Cue]) -> list[str]:
    return " ".join(c.text for c in cues).split()


# -- timestamps ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "marker", "hours", "expected"), [
    (0, ",", True, "00:00:00,000"),
    (0.9996, ",", True, "00:00:01,000"),
    (59.9999, ".", True, "00:01:00.000"),
    (3599.9995, ".", True, "01:00:00.000"),
    (3723.5, ".", False, "01:02:03.500"),
    (61.25, ".", False, "01:01.250"),
    (-1, ",", True, "00:00:00,000"),
    (float("nan"), ",", True, "00:00:00,000"),
    (360000, ",", True, "100:00:00,000"),
])
def test_format_timestamp(seconds: float, marker: str, hours: bool, expected: str) -> None:
    assert format_timestamp(seconds, marker, hours) == expected


# -- no timestamps -------------------------------------------------------------------------------

def test_text_only_transcript_cannot_be_captioned() -> None:
    t = Transcript(text="Hello there.", model="openai/gpt-4o-transcribe")
    with pytest.raises(NoTimestampsError) as info:
        build_cues(t)
    assert "openai/gpt-4o-transcribe" in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint and "-m" in info.value.hint


def test_empty_transcript_gives_no_cues() -> None:
    assert build_cues(Transcript(text="  ")) == []


# -- shaping -------------------------------------------------------------------------------------

def test_short_sentence_is_one_line_one_cue() -> None:
    cues = build_cues(transcript_of(words_at("Hello there, how are you?")))
    assert [c.lines for c in cues] == [["Hello there, how are you?"]]
    assert cues[0].start == 0.0


def test_breaks_at_sentence_end_rather_than_filling_the_cue() -> None:
    text = "I will be there at nine tomorrow morning. Please bring the signed contract and the keys."
    cues = build_cues(transcript_of(words_at(text, step=0.25)))
    assert [c.text for c in cues] == ["I will be there at nine tomorrow morning.",
                                      "Please bring the signed contract and the keys."]


def test_prefers_clause_punctuation_over_a_bare_break() -> None:
    text = ("Although the forecast promised sunshine for the whole long weekend, heavy rain kept "
            "every single one of us inside the house")
    cues = build_cues(transcript_of(words_at(text, step=0.2)))
    assert len(cues) == 2
    assert cues[0].text.endswith("weekend,")


def test_prefers_the_longest_pause_without_punctuation() -> None:
    first = words_at("we compared quarterly numbers for every single region carefully", step=0.2)
    second = words_at("management decided to open two new offices up north before winter", start=3.0,
                      step=0.2)
    cues = build_cues(transcript_of(first + second))
    assert [c.text.split()[0] for c in cues] == ["we", "management"]


def test_lines_are_balanced() -> None:
    text = "The committee will publish its final recommendations early next month"
    cues = build_cues(transcript_of(words_at(text, step=0.1)))
    assert len(cues) == 1
    assert cues[0].lines == ["The committee will publish",
                             "its final recommendations early next month"] or \
        abs(len(cues[0].lines[0]) - len(cues[0].lines[1])) <= 12


def test_line_break_prefers_punctuation_when_nearly_balanced() -> None:
    lines = layout_lines(tuple("When the storm passes, we can finally go back outside and play".split()),
                         42)
    assert lines == ["When the storm passes,", "we can finally go back outside and play"]


def test_never_breaks_a_line_after_an_article_when_avoidable() -> None:
    lines = layout_lines(tuple("she handed me the keys to the old house by the river".split()), 30)
    assert not lines[0].endswith((" the", " to"))


def spoken(text: str, pauses: dict[str, float] | None = None) -> list[Word]:
    """Steady speech: 0.3 s words, 0.1 s gaps, 0.3 s more after a sentence, ``pauses`` after a word."""
    words, t = [], 0.5
    for token in text.split():
        words.append(Word(token, round(t, 3), round(t + 0.3, 3)))
        t += 0.4 + (0.3 if token.endswith((".", "?", "!")) else 0.0) + (pauses or {}).get(token, 0.0)
    return words


def test_a_hesitation_after_an_article_does_not_end_a_cue() -> None:
    text = ("We spent most of last year rebuilding the billing system from scratch because the old "
            "one kept losing invoices.")
    cues = build_cues(transcript_of(spoken(text, {"the": 0.8})))
    assert [c.text for c in cues] == [
        "We spent most of last year rebuilding the billing system from scratch",
        "because the old one kept losing invoices."]


def test_a_hesitation_between_a_number_and_its_unit_does_not_end_a_cue() -> None:
    text = "Our members voted to raise the annual fee by 12 percent from the first of April next year"
    cues = build_cues(transcript_of(spoken(text, {"12": 0.6})), CaptionOptions(max_lines=1))
    assert all(not c.text.endswith("12") for c in cues)
    assert all(not c.text.endswith((" the", " of", " by", " from")) for c in cues)


@pytest.mark.parametrize("pauses", [{}, {"up": 0.45}, {"churn": 0.45}])
def test_clause_punctuation_beats_a_bare_break_in_fuller_cues(pauses: dict[str, float]) -> None:
    text = ("Revenue for the third quarter came in at 4.2 million dollars, which is up 12 percent on "
            "last year, and our churn rate fell from 3.1 to 2.4 percent.")
    cues = build_cues(transcript_of(spoken(text, pauses)))
    assert [c.text for c in cues] == [
        "Revenue for the third quarter came in at 4.2 million dollars,",
        "which is up 12 percent on last year,",
        "and our churn rate fell from 3.1 to 2.4 percent."]


@pytest.mark.parametrize("options", [CaptionOptions(max_lines=1), CaptionOptions(max_cue_duration=3)])
def test_cues_do_not_carry_the_tail_of_a_clause_into_the_next(options: CaptionOptions) -> None:
    text = "The lab is funded out of the capital budget, not the operating budget, so it isn't affected."
    cues = build_cues(transcript_of(spoken(text)), options)
    assert [c.text for c in cues] == ["The lab is funded", "out of the capital budget,",
                                      "not the operating budget,", "so it isn't affected."]


def test_that_after_an_auxiliary_is_no_clause_start() -> None:
    lines = layout_lines(tuple("Does that include the hardware lab,".split()), 32, reserve=12)
    assert lines[0] != "Does"


def test_lines_do_not_split_a_modal_from_its_verb() -> None:
    words = tuple("You said the R&D budget will be less than ten percent.".split())
    assert not any(line.endswith(" will") for line in layout_lines(words, 42))


@pytest.mark.parametrize(("text", "options"), [
    ("The R&D budget for next year will be < 10 percent of revenue, which means some projects will "
     "have to wait.", CaptionOptions(max_lines=1)),
    ("I want you to smile politely & keep working every single day of the week and beyond",
     CaptionOptions(max_line_width=32)),
])
def test_a_lone_symbol_is_not_left_at_the_end_of_a_line_or_cue(text: str,
                                                                 options: CaptionOptions) -> None:
    cues = build_cues(transcript_of(spoken(text)), options)
    assert not [line for cue in cues for line in cue.lines if line.endswith((" <", " &"))]


@pytest.mark.parametrize("text", [
    "The lab is funded out of the capital budget, not the operating budget, so it isn't affected.",
    "The R&D budget for next year will be < 10 percent of revenue, which means some projects will "
    "have to wait.",
])
def test_fast_speech_does_not_end_a_cue_on_a_function_word(text: str) -> None:
    words = words_at(text, start=0.5, step=0.15, gap=0.03)
    cues = build_cues(transcript_of(words), CaptionOptions(max_lines=1))
    assert [c.text for c in cues if c.text.split()[-1] in ("the", "be", "of", "will")] == []


def stranded(lines: list[str]) -> list[str]:
    """Breaks one word away from punctuation: "here; numbers / like" or "capital / budget, not"."""
    found = []
    for line, following in pairwise(lines):
        words, next_words = line.split(), following.split()
        if re.search(r"\w$", line) and (len(words) > 1 and re.search(r"[,;:.?!]$", words[-2])
                                        or re.search(r"[,;:.?!]$", next_words[0])):
            found.append(f"{line} / {following}")
    return found


def test_lines_do_not_strand_a_word_beside_punctuation() -> None:
    text = ("Now, I want to be careful here; numbers like these can make a team complacent, and "
            "complacency is the thing that kills companies like ours.")
    for options in (CaptionOptions(), CaptionOptions(max_line_width=32)):
        cues = build_cues(transcript_of(spoken(text)), options)
        assert stranded([line for cue in cues for line in cue.lines]) == []


def test_speaker_change_starts_a_new_cue() -> None:
    words = words_at("Are you coming?", speaker="Speaker A") + \
        words_at("Yes.", start=1.0, speaker="Speaker B")
    cues = build_cues(transcript_of(words))
    assert [(c.speaker, c.text, c.turn_start) for c in cues] == [
        ("Speaker A", "Are you coming?", True), ("Speaker B", "Yes.", True)]
    assert cues[0].end <= cues[1].start


def test_prefix_width_counts_on_the_first_cue_of_a_turn() -> None:
    text = "this sentence is exactly long enough to need a prefix check"
    words = words_at(text, step=0.1, speaker="Speaker 1") + words_at("ok", start=9, speaker="Speaker 2")
    cues = build_cues(transcript_of(words), CaptionOptions(max_line_width=30, max_lines=2),
                      prefix_width=lambda s: len(f"[{s}] "))
    first = cues[0]
    assert len("[Speaker 1] ") + len(first.lines[0]) <= 30
    assert all(len(line) <= 30 for cue in cues for line in cue.lines)


def test_long_pause_splits_even_short_text() -> None:
    words = words_at("Hello.") + words_at("Anyone?", start=5.0)
    assert len(build_cues(transcript_of(words))) == 2


def test_duration_limit_splits_slow_speech() -> None:
    words = words_at("one two three four five six seven eight nine ten", step=1.5)
    cues = build_cues(transcript_of(words))
    assert len(cues) >= 3
    assert all(c.end - c.start <= 7.0 for c in cues)


def test_a_single_overlong_word_is_the_only_overflow() -> None:
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis-related"
    cues = build_cues(transcript_of(words_at(f"it was {long_word} damage")))
    assert long_word in [line for cue in cues for line in cue.lines]
    assert all(len(line) <= 42 or line == long_word for cue in cues for line in cue.lines)


def test_short_cue_is_held_into_the_silence_but_not_over_the_next() -> None:
    words = [Word("Right.", 1.0, 1.2), Word("Okay", 1.5, 1.8), Word("then.", 1.9, 2.2)]
    words2 = [Word("Yes.", 10.0, 10.1), Word("Later.", 20.0, 20.3)]
    cues = build_cues(transcript_of(words + words2))
    assert cues[0].start == 1.0
    yes = next(c for c in cues if c.text == "Yes.")
    assert yes.end == pytest.approx(10.0 + 5 / 6, abs=0.001)
    last = cues[-1]
    assert last.end - last.start >= 5 / 6 - 0.001


def test_extension_stops_at_the_next_cue() -> None:
    words = [Word("Hi.", 0.0, 0.2, speaker="A"), Word("Hey.", 0.5, 0.7, speaker="B")]
    cues = build_cues(transcript_of(words))
    assert cues[0].end == 0.5
    assert cues[1].start == 0.5


def fast_sentence(start: float = 1.0) -> list[Word]:
    """86 characters spoken in 2.6 s: about 33 characters per second while it is spoken."""
    tokens = "Honestly I had no idea the whole department was moving to the new building on Monday.".split()
    step = 2.6 / len(tokens)
    return [Word(w, round(start + i * step, 3), round(start + (i + 0.9) * step, 3))
            for i, w in enumerate(tokens)]


def reading_speed(cue: Cue) -> float:
    return len(cue.text) / (cue.end - cue.start)


def test_cue_is_held_in_the_silence_after_it_until_it_can_be_read() -> None:
    cues = build_cues(transcript_of(fast_sentence() + [Word("Really?", 8.0, 8.4)], duration=20.0))
    held = next(c for c in cues if c.text.endswith("Monday."))
    assert reading_speed(held) <= 17.0
    assert held.end < 8.0
    assert cues[-1].text == "Really?" and cues[-1].start == 8.0


def test_reading_hold_keeps_a_small_gap_before_the_next_cue() -> None:
    cues = build_cues(transcript_of(fast_sentence() + [Word("Really?", 4.5, 4.8)], duration=20.0))
    held = next(c for c in cues if c.text.endswith("Monday."))
    assert held.end == pytest.approx(4.5 - CUE_GAP, abs=0.0005)


def test_cues_of_continuous_speech_are_a_gap_apart() -> None:
    words = words_at("I will be there at nine tomorrow morning. Please bring the signed contract "
                     "and the keys.", step=0.25, gap=0.0)
    cues = build_cues(transcript_of(words))
    assert len(cues) == 2
    assert cues[1].start - cues[0].end == pytest.approx(CUE_GAP, abs=0.0005)


def test_reading_hold_stops_at_the_maximum_duration_and_the_audio_end() -> None:
    words = fast_sentence()
    capped = build_cues(transcript_of(words, duration=60.0), CaptionOptions(max_cue_duration=2.0))
    assert all(c.end - c.start <= 2.0 for c in capped)
    assert capped[-1].end - capped[-1].start == pytest.approx(2.0)
    audio_end = words[-1].end + 0.5
    ended = build_cues(transcript_of(words, duration=audio_end))
    assert ended[-1].end == pytest.approx(audio_end)


def test_zero_length_and_overlapping_words_still_give_valid_cues() -> None:
    words = [Word("a", 1.0, 1.0, speaker="A"), Word("b", 1.0, 1.0, speaker="B"),
             Word("c", 0.5, 0.9, speaker="A")]
    cues = build_cues(transcript_of(words))
    assert cue_words(cues) == ["a", "b", "c"]
    for cue, following in pairwise(cues):
        assert cue.end <= following.start
    assert all(c.end > c.start for c in cues)


def test_segments_only_share_time_by_characters() -> None:
    segment = Segment("Short one. And then a much longer second sentence follows it here.", 0.0, 8.0)
    t = Transcript(text=segment.text, segments=[segment], timing="segments")
    cues = build_cues(t)
    assert [c.text for c in cues] == ["Short one.",
                                      "And then a much longer second sentence follows it here."]
    assert cues[0].start == 0.0
    assert cues[-1].end == 8.0
    share = len("Short one. ") / (len(segment.text) + 1)  # each word counts its trailing space
    assert cues[1].start == pytest.approx(8.0 * share, abs=0.001)


def test_segment_boundaries_are_preferred_breaks() -> None:
    segments = [Segment("so the first part goes here", 0.0, 2.0),
                Segment("and the second part here", 2.0, 4.0)]
    cues = build_cues(Transcript(text="", segments=segments, timing="segments"),
                      CaptionOptions(max_line_width=30, max_lines=1))
    assert [c.text for c in cues] == ["so the first part goes here", "and the second part here"]


# -- properties ----------------------------------------------------------------------------------

OPTIONS = [CaptionOptions(), CaptionOptions(max_line_width=20, max_lines=1, max_cue_duration=4.0),
           CaptionOptions(max_line_width=32, max_lines=3, min_cue_duration=1.5)]

word_text = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC'-", min_size=1, max_size=12),
    st.text(alphabet="abcdefghij", min_size=40, max_size=70),  # longer than any line
).flatmap(lambda w: st.sampled_from(["", "", "", ",", ".", "?", "!", ";", ":", "…", "\u2014"])
          .map(lambda p: w + p))


@st.composite
def word_lists(draw: st.DrawFn) -> list[Word]:
    count = draw(st.integers(0, 60))
    speakers = draw(st.sampled_from([[None], ["Speaker 1"], ["Speaker 1", "Speaker 2"],
                                     ["Speaker A", "Speaker B", None]]))
    t = draw(st.floats(0, 4000))
    words = []
    for _ in range(count):
        t += draw(st.sampled_from([0.0, 0.0, 0.01, 0.05, 0.2, 0.7, 1.5, 2.5, 9.0]))
        length = draw(st.sampled_from([0.0, 0.05, 0.2, 0.4, 1.0, 3.0, 8.0]))
        words.append(Word(draw(word_text), round(t, 3), round(t + length, 3),
                          speaker=draw(st.sampled_from(speakers))))
        t += length
    return words


def check_cues(cues: list[Cue], words: list[Word], options: CaptionOptions, reserve: int) -> None:
    assert cue_words(cues) == " ".join(w.text for w in words).split()
    min_ms = round(options.min_cue_duration * 1000)
    max_ms = round(options.max_cue_duration * 1000)
    for index, cue in enumerate(cues):
        start, end = round(cue.start * 1000), round(cue.end * 1000)
        assert cue.start == start / 1000 and cue.end == end / 1000  # whole milliseconds
        assert end > start
        single_word = len(cue.text.split()) == 1
        assert end - start <= max_ms or single_word
        label_lines = 1 if cue.label_line else 0
        if cue.label_line:
            assert cue.turn_start and reserve >= options.max_line_width
        assert 1 <= len(cue.lines) <= options.max_lines - label_lines or single_word
        for number, line in enumerate(cue.lines):
            shares_label = number == 0 and cue.turn_start and cue.speaker and not cue.label_line
            width = len(line) + (reserve if shares_label else 0)
            assert width <= options.max_line_width or len(line.split()) == 1, cue
        if index + 1 < len(cues):
            following = cues[index + 1]
            assert cue.end <= following.start
            if following.start - cue.start >= options.min_cue_duration:
                assert end - start >= min_ms
            if following.start - cue.start >= options.min_cue_duration + CUE_GAP:
                assert round(following.start * 1000) - end >= round(CUE_GAP * 1000)
        else:
            assert end - start >= min_ms


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_lists(), st.sampled_from(OPTIONS), st.sampled_from([0, 12, 40]))
def test_every_limit_holds_for_random_words(words: list[Word], options: CaptionOptions,
                                            reserve: int) -> None:
    t = transcript_of(words)
    cues = build_cues(t, options, prefix_width=(lambda s: reserve) if reserve else None)
    check_cues(cues, words, options, reserve)
    speakers_in_order = [w.speaker for w in words]
    for cue in cues:
        assert cue.speaker in speakers_in_order


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abc ,.", min_size=1, max_size=120),
                          st.floats(0, 30), st.floats(0, 30)), max_size=6))
def test_segments_only_cues_keep_every_word(parts: list[tuple[str, float, float]]) -> None:
    segments, t = [], 0.0
    for text, gap, length in parts:
        segments.append(Segment(" ".join(text.split()), t + gap, t + gap + length))
        t += gap + length
    segments = [s for s in segments if s.text]
    cues = build_cues(Transcript(text="", segments=segments, timing="segments"))
    assert cue_words(cues) == " ".join(s.text for s in segments).split()
    for cue, following in pairwise(cues):
        assert cue.start < cue.end <= following.start
