"""Normalizing every payload shape into one Transcript, and reading our own JSON back."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stt_cli.errors import BadResponseError
from stt_cli.transcript import Transcript, normalize, speaker_label, transcript_to_json

PAYLOADS = Path(__file__).parent / "data" / "payloads"
FIXTURES = [
    "deepgram_list",
    "deepgram_object_diarized",
    "assemblyai",
    "openai_json",
    "openai_verbose_segments",
    "openai_verbose_words",
]


def load(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


# -- each shape ----------------------------------------------------------------------------------

def test_deepgram_with_channel_list_prefers_punctuated_words() -> None:
    t = normalize(load("deepgram_list"))
    assert t.timing == "words"
    assert [w.text for w in t.words[:5]] == ["Welcome", "back", "to", "the", "show."]
    assert t.words[0].start == pytest.approx(0.32)
    assert t.words[0].confidence is not None
    assert t.text.startswith("Welcome back to the show. Today")
    assert t.duration == pytest.approx(41.75)
    assert t.model == "whisper-large"
    assert t.speakers == []
    assert t.segments and t.segments[0].text == "Welcome back to the show."


def test_deepgram_with_channel_object_and_diarization() -> None:
    t = normalize(load("deepgram_object_diarized"), provider="aiml", job_id="gen-1")
    assert t.speakers == ["Speaker 1", "Speaker 2"]
    assert t.speaker_ids == {"Speaker 1": "0", "Speaker 2": "1"}
    assert t.words[0].speaker == "Speaker 1"
    assert t.language == "en"
    assert (t.provider, t.job_id) == ("aiml", "gen-1")
    assert {s.speaker for s in t.segments} == {"Speaker 1", "Speaker 2"}


def test_assemblyai_milliseconds_become_seconds() -> None:
    payload = load("assemblyai")
    t = normalize(payload)
    assert t.words[0].start == pytest.approx(payload["words"][0]["start"] / 1000)
    assert t.words[-1].end == pytest.approx(payload["words"][-1]["end"] / 1000)
    assert t.duration == payload["audio_duration"]  # already seconds
    assert t.language == "en_us"
    assert t.speakers == ["Speaker A", "Speaker B"]
    assert t.speaker_ids == {"Speaker A": "A", "Speaker B": "B"}
    assert len(t.segments) == len(payload["utterances"])
    assert t.segments[1].speaker == "Speaker B"


def test_assemblyai_words_only_inside_utterances() -> None:
    payload = load("assemblyai")
    del payload["words"]
    t = normalize(payload)
    assert t.timing == "words"
    assert len(t.words) == sum(len(u["words"]) for u in payload["utterances"])


def test_openai_json_is_text_only() -> None:
    t = normalize(load("openai_json"), model="openai/gpt-4o-transcribe")
    assert t.timing == "none"
    assert t.words == [] and t.segments == []
    assert t.text.startswith("Hi, it's Maria")
    assert t.model == "openai/gpt-4o-transcribe"


def test_openai_verbose_json_segments() -> None:
    t = normalize(load("openai_verbose_segments"))
    assert t.timing == "segments"
    assert t.approximate
    assert transcript_to_json(t)["approximate"] is True
    assert t.language == "english"
    assert t.segments[0].text.startswith("Good morning")  # whisper's leading space is gone
    assert t.segments[1].start == pytest.approx(4.2)


def test_openai_verbose_json_words_get_punctuation_from_the_text() -> None:
    payload = load("openai_verbose_words")
    assert payload["words"][4]["word"] == "launch"
    t = normalize(payload)
    assert t.timing == "words"
    assert t.words[4].text == "launch:"
    assert t.words[-1].text == "Thanks!"
    assert " ".join(w.text for w in t.words) == t.text


def openai_words(text: str, words: list[str]) -> dict[str, Any]:
    return {"task": "transcribe", "duration": 0.5 * len(words) + 1, "text": text,
            "words": [{"word": w, "start": 0.5 * i, "end": 0.5 * i + 0.4} for i, w in enumerate(words)]}


def test_openai_words_with_inner_symbols_still_get_punctuation() -> None:
    t = normalize(openai_words("Sales rose 4.2 percent. Great news, right?",
                               ["Sales", "rose", "4.2", "percent", "Great", "news", "right"]))
    assert [w.text for w in t.words] == ["Sales", "rose", "4.2", "percent.", "Great", "news,", "right?"]


@pytest.mark.parametrize(("word", "spelled"), [
    ("R&D", "R&D"), ("well-known", "well-known"), ("10%", "10%"), ("$5", "$5"), ("U.S.", "U.S."),
    ("U.S", "U.S."), ("O'Brien", "O\u2019Brien"), ("co\u2011op", "co\u2011op"), ("4.2", "4.2"),
])
def test_openai_punctuation_survives_any_symbol_word(word: str, spelled: str) -> None:
    text = f"Hello, they said {spelled}, twice. Fine!"
    t = normalize(openai_words(text, ["Hello", "they", "said", word, "twice", "Fine"]))
    assert " ".join(w.text for w in t.words) == text


def test_openai_words_that_carry_punctuation_are_kept() -> None:
    t = normalize(openai_words("Hello, there. It's 4.2 percent, right?",
                               ["Hello,", "there.", "It's", "4.2", "percent,", "right?"]))
    assert " ".join(w.text for w in t.words) == "Hello, there. It's 4.2 percent, right?"


def test_openai_words_missing_from_the_text_stay_as_they_are() -> None:
    t = normalize(openai_words("We sold well-known items. Done.",
                               ["we", "sold", "well", "known", "items", "done"]))
    assert [w.text for w in t.words] == ["We", "sold", "well", "known", "items.", "Done."]


def test_openai_words_inside_segments_are_used() -> None:
    payload = {"text": "Hello there.", "segments": [
        {"id": 0, "start": 0.0, "end": 1.0, "text": " Hello there.",
         "words": [{"word": " Hello", "start": 0.0, "end": 0.4, "probability": 0.9},
                   {"word": " there.", "start": 0.5, "end": 1.0, "probability": 0.8}]}]}
    t = normalize(payload)
    assert [(w.text, w.confidence) for w in t.words] == [("Hello", 0.9), ("there.", 0.8)]


def test_plain_text() -> None:
    t = normalize("  Just some words.\n")
    assert t.text == "Just some words."
    assert t.timing == "none"
    assert t.raw == "  Just some words.\n"


@pytest.mark.parametrize("key", ["result", "output"])
def test_job_envelope_is_unwrapped(key: str) -> None:
    payload = load("deepgram_list")
    t = normalize({"generation_id": "gen-42", "status": "completed", key: payload})
    assert t.job_id == "gen-42"
    assert len(t.words) == len(payload["results"]["channels"][0]["alternatives"][0]["words"])


def test_job_envelope_with_error_names_it() -> None:
    envelope = {"id": "x", "status": "error", "output": None,
                "error": {"name": "Error", "message": "audio too short"}}
    with pytest.raises(BadResponseError, match="audio too short"):
        normalize(envelope)


@pytest.mark.parametrize("payload", [None, 5, 1.5, True, [], [1, 2], {}, {"foo": 1},
                                     {"results": 3}, {"metadata": {"duration": 3}},
                                     {"schema_version": 99, "text": "x"}, b"bytes"])
def test_unknown_shapes_name_the_expected_ones(payload: Any) -> None:
    with pytest.raises(BadResponseError) as info:
        normalize(payload)
    assert info.value.message


def test_unknown_shape_message_lists_shapes() -> None:
    with pytest.raises(BadResponseError, match=r"Deepgram-style.*AssemblyAI-style.*OpenAI"):
        normalize({"foo": 1})


def test_bad_word_values_are_repaired_or_dropped() -> None:
    words = [
        "not a dict",
        {"word": "nan", "start": math.nan, "end": 1.0},
        {"word": "string", "start": "0.5", "end": 1.0},
        {"word": "negative", "start": -3.0, "end": 0.5},
        {"word": "backwards", "start": 2.0, "end": 1.0},
        {"word": "inf", "start": 1.0, "end": math.inf},
        {"word": 7, "start": 1.0, "end": 2.0},
        {"word": "huge", "start": 10**400, "end": 1.0},
        {"word": "fine", "start": 3.0, "end": 3.5, "speaker": True, "confidence": "high"},
    ]
    payload = {"results": {"channels": [{"alternatives": [{"transcript": None, "words": words}]}]}}
    t = normalize(payload)
    assert [(w.text, w.start, w.end) for w in t.words] == [
        ("negative", 0.0, 0.5), ("backwards", 2.0, 2.0), ("fine", 3.0, 3.5)]
    assert t.words[-1].speaker is None and t.words[-1].confidence is None
    assert t.text == "negative backwards fine"


def test_whitespace_inside_words_is_collapsed() -> None:
    t = normalize({"text": "a b", "words": [{"word": "New\nYork", "start": 0, "end": 1}],
                   "task": "transcribe"})
    assert t.words[0].text == "New York"


def test_speaker_labels() -> None:
    assert speaker_label(0) == "Speaker 1"
    assert speaker_label(1.0) == "Speaker 2"
    assert speaker_label("A") == "Speaker A"
    assert speaker_label("Speaker 3") == "Speaker 3"
    assert speaker_label(True) is None
    assert speaker_label(-1) is None
    assert speaker_label("  ") is None


# -- our own JSON --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURES)
def test_own_json_round_trips(name: str) -> None:
    t = normalize(load(name), provider="aiml", model="m", job_id="j")
    document = json.loads(json.dumps(transcript_to_json(t)))
    assert document["schema_version"] == 1
    assert "raw" not in document
    again = normalize(document)
    assert again == replace(t, raw=document)


def test_own_json_keeps_segment_words() -> None:
    t = normalize(load("assemblyai"))
    t.segments[0].words = t.words[:3]
    document = transcript_to_json(t)
    assert normalize(document).segments[0].words == t.words[:3]


def test_own_json_fields() -> None:
    document = transcript_to_json(normalize(load("deepgram_object_diarized")))
    assert set(document) >= {"schema_version", "text", "language", "duration", "timing",
                             "approximate", "words", "segments", "speakers", "provider", "model",
                             "job_id"}
    assert document["timing"] == "words"
    assert document["approximate"] is False
    assert document["words"][0] == {"text": "Thanks", "start": 0.48, "end": 0.9,
                                    "confidence": document["words"][0]["confidence"],
                                    "speaker": "Speaker 1"}


# -- anything at all ----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children,
                                                                      max_size=4),
    max_leaves=20,
)
times = st.one_of(st.floats(), st.integers(-10, 10**6), st.text(max_size=3), st.none())


def word_like() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {}, optional={"word": json_scalars, "punctuated_word": json_scalars, "text": json_scalars,
                      "start": times, "end": times, "confidence": json_scalars,
                      "speaker": json_scalars}) | json_values


deepgram_like = st.fixed_dictionaries({
    "metadata": st.dictionaries(st.sampled_from(["duration", "model_info"]), json_values) | json_values,
    "results": st.fixed_dictionaries({
        "channels": st.one_of(
            st.lists(st.fixed_dictionaries({"alternatives": st.lists(st.fixed_dictionaries(
                {"words": st.lists(word_like(), max_size=5)},
                optional={"transcript": json_scalars, "paragraphs": json_values}), max_size=2)}),
                max_size=2),
            st.fixed_dictionaries({"alternatives": json_values})),
    }, optional={"utterances": st.lists(word_like(), max_size=3)}),
})
assemblyai_like = st.fixed_dictionaries(
    {"words": st.lists(word_like(), max_size=5)},
    optional={"text": json_scalars, "utterances": st.lists(
        st.fixed_dictionaries({}, optional={"words": st.lists(word_like(), max_size=3),
                                            "start": times, "end": times, "text": json_scalars,
                                            "speaker": json_scalars}) | json_values, max_size=3),
              "audio_duration": times, "language_code": json_scalars, "status": json_scalars},
)
openai_like = st.fixed_dictionaries(
    {},
    optional={"text": json_scalars, "task": json_scalars, "duration": times,
              "language": json_scalars, "words": st.lists(word_like(), max_size=5),
              "segments": st.lists(word_like(), max_size=4) | json_values},
)
own_like = st.fixed_dictionaries(
    {"schema_version": st.sampled_from([1, 1, 1, 2, "1", None, True])},
    optional={"text": json_scalars, "words": st.lists(word_like(), max_size=4) | json_values,
              "segments": st.lists(word_like(), max_size=3), "speakers": json_values,
              "speaker_ids": json_values, "duration": times, "job_id": json_scalars},
)
envelope_like = st.fixed_dictionaries(
    {"status": json_scalars},
    optional={"id": json_scalars, "result": json_values | deepgram_like,
              "output": json_values | openai_like, "error": json_values},
)
any_payload = st.one_of(json_values, deepgram_like, assemblyai_like, openai_like, own_like,
                        envelope_like)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_payload)
def test_any_json_gives_a_transcript_or_bad_response(payload: Any) -> None:
    try:
        t = normalize(payload)
    except BadResponseError as exc:
        assert exc.message
        return
    assert isinstance(t, Transcript)
    assert t.timing in {"words", "segments", "none"}
    for item in [*t.words, *t.segments]:
        assert item.text and item.text == " ".join(item.text.split())
        assert math.isfinite(item.start) and math.isfinite(item.end)
        assert 0 <= item.start <= item.end
    json.dumps(transcript_to_json(t), allow_nan=False)
