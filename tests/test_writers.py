"""Writers: golden files for every format from every payload shape, and strict SRT/VTT checks.

Regenerate the golden files with ``STT_UPDATE_GOLDEN=1 pytest tests/test_writers.py`` and read the
diff before committing it.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import srt
import webvtt

from stt_cli.captions import build_cues
from stt_cli.errors import NoTimestampsError, UsageError
from stt_cli.transcript import Transcript, Word, normalize
from stt_cli.writers import (
    ALL_FORMATS,
    EXTENSIONS,
    WRITERS,
    RenderOptions,
    parse_speaker_names,
    render,
    write,
)

DATA = Path(__file__).parent / "data"
UPDATE_GOLDEN = os.environ.get("STT_UPDATE_GOLDEN") == "1"

# name -> normalize() keyword arguments, as the CLI would pass them
SHAPES: dict[str, dict[str, str]] = {
    "deepgram_list": {"provider": "aiml", "model": "#g1_whisper-large", "job_id": "gen-whisper-1"},
    "deepgram_object_diarized": {"provider": "aiml", "model": "#g1_nova-2-general",
                                 "job_id": "gen-nova-2"},
    "assemblyai": {"provider": "aiml", "model": "aai/best", "job_id": "gen-aai-3"},
    "openai_json": {"provider": "openai", "model": "gpt-4o-transcribe"},
    "openai_verbose_segments": {"provider": "openai", "model": "whisper-1"},
    "openai_verbose_words": {"provider": "openai", "model": "whisper-1"},
    "deepgram_long": {"provider": "aiml", "model": "#g1_nova-2-general", "job_id": "gen-long"},
}
TIMED = [name for name in SHAPES if name != "openai_json"]

LONG_SENTENCES = [
    ("Okay, let's pick up where we left off before the break.", 0),
    ("The next item on the agenda is the migration of the billing service.", 0),
    ("Do we have a date for the cutover yet?", 1),
    ("Not yet, but we expect to confirm it by the end of next week.", 0),
    ("What is blocking it?", 1),
    ("Mostly the load tests; the staging database is still smaller than production, so the "
     "numbers we get are not very meaningful.", 0),
    ("Can we borrow capacity from the analytics cluster for a day or two?", 1),
    ("That's a good idea. I'll ask their team this afternoon.", 0),
]


def long_deepgram_payload() -> dict[str, Any]:
    """A diarized Deepgram-style payload spanning more than an hour of a meeting recording.

    Deterministic: one exchange every 95 seconds (the quiet stretches between are silence), so the
    file stays small while the timestamps run past 01:00:00.
    """
    words: list[dict[str, Any]] = []
    t = 4.0
    for index in range(40):
        sentence, speaker = LONG_SENTENCES[index % len(LONG_SENTENCES)]
        t = max(t, 4.0 + index * 95.0)
        for token in sentence.split():
            bare = re.sub(r"[^\w']", "", token).lower()
            duration = round(0.1 + 0.05 * len(bare), 2)
            words.append({"word": bare, "punctuated_word": token, "start": round(t, 2),
                          "end": round(t + duration, 2), "confidence": 0.95, "speaker": speaker})
            t += duration + (0.45 if token.endswith((".", "?", ",", ";")) else 0.06)
    transcript = " ".join(w["punctuated_word"] for w in words)
    return {
        "metadata": {"request_id": "8c1e3f2a-long", "sha256": "0" * 64, "duration": 3812.4,
                     "channels": 1, "created": "2025-03-14T10:00:00.000Z"},
        "results": {"channels": [{"alternatives": [{"transcript": transcript, "confidence": 0.95,
                                                    "words": words}]}]},
    }


def load_payload(name: str) -> Any:
    if name == "deepgram_long":
        return long_deepgram_payload()
    return json.loads((DATA / "payloads" / f"{name}.json").read_text(encoding="utf-8"))


def transcript_for(name: str) -> Transcript:
    return normalize(load_payload(name), **SHAPES[name])


def check_golden(name: str, content: str) -> None:
    path = DATA / "golden" / name
    if UPDATE_GOLDEN:
        path.write_text(content, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == content, f"{name} differs from its golden file"


def vtt_cues(content: str) -> list[Any]:
    return list(webvtt.from_buffer(io.StringIO(content)))


def seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


# -- golden files --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("name", list(SHAPES))
def test_golden(name: str, fmt: str) -> None:
    t = transcript_for(name)
    if fmt in ("srt", "vtt") and name == "openai_json":
        with pytest.raises(NoTimestampsError, match="gpt-4o-transcribe"):
            render(t, fmt)
        return
    content = render(t, fmt, RenderOptions())
    assert content.endswith("\n")
    check_golden(f"{name}.{EXTENSIONS[fmt]}", content)


# -- strict SRT / VTT checks ---------------------------------------------------------------------

@pytest.mark.parametrize("name", TIMED)
def test_srt_round_trips_through_the_srt_library(name: str) -> None:
    out = render(transcript_for(name), "srt")
    subtitles = list(srt.parse(out))
    assert srt.compose(subtitles) == out
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))


@pytest.mark.parametrize("name", TIMED)
def test_vtt_parses_with_the_engine_cues(name: str) -> None:
    t = transcript_for(name)
    expected = build_cues(t, RenderOptions())  # VTT voice tags take no line width
    vtt = render(t, "vtt")
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt_cues(vtt)
    # webvtt-py skips malformed timestamps silently, so count the timing lines ourselves too
    assert len(cues) == len(expected) == vtt.count(" --> ")
    for cue, engine_cue in zip(cues, expected, strict=True):
        assert seconds(cue.start) == pytest.approx(engine_cue.start)
        assert seconds(cue.end) == pytest.approx(engine_cue.end)
        assert seconds(cue.end) > seconds(cue.start)
        assert cue.text == html.escape("\n".join(engine_cue.lines), quote=False)
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", cue.start)
    starts = [seconds(c.start) for c in cues]
    ends = [seconds(c.end) for c in cues]
    assert all(end <= following for end, following in zip(ends[:-1], starts[1:], strict=True))


def test_vtt_voices_mark_every_cue_of_a_diarized_transcript() -> None:
    cues = vtt_cues(render(transcript_for("deepgram_object_diarized"), "vtt"))
    assert {c.voice for c in cues} == {"Speaker 1", "Speaker 2"}
    assert cues[0].voice == "Speaker 1" and cues[0].text == "Thanks for having me."


def test_srt_labels_each_speaker_turn_once() -> None:
    subs = list(srt.parse(render(transcript_for("deepgram_object_diarized"), "srt")))
    labelled = [s.content.split("]")[0] + "]" for s in subs if s.content.startswith("[")]
    assert labelled[:3] == ["[Speaker 1]", "[Speaker 2]", "[Speaker 1]"]
    assert not subs[1].content.startswith("[")  # same speaker continuing


def test_single_speaker_transcripts_carry_no_speaker_markup() -> None:
    t = transcript_for("deepgram_list")
    assert "[Speaker" not in render(t, "srt")
    assert "<v " not in render(t, "vtt")


def test_hour_long_payload_shows_hours() -> None:
    t = transcript_for("deepgram_long")
    assert t.duration is not None and t.duration > 3600
    out = render(t, "srt")
    assert "01:0" in out
    last = list(srt.parse(out))[-1]
    assert last.start.total_seconds() > 3600
    assert re.search(r"^01:0\d:\d\d\.\d{3} --> 01:0\d:\d\d\.\d{3}$", render(t, "vtt"), re.M)


def test_every_word_appears_once_in_order() -> None:
    for name in TIMED:
        t = transcript_for(name)
        subs = list(srt.parse(render(t, "srt", RenderOptions(speaker_labels=False))))
        text = " ".join(s.content.replace("\n", " ") for s in subs)
        expected = [w.text for w in t.words] or " ".join(s.text for s in t.segments).split()
        assert text.split() == expected


def test_openai_words_with_symbols_keep_their_punctuation_in_captions() -> None:
    spoken = [("Sales", 0.0, 0.4), ("rose", 0.5, 0.8), ("4.2", 0.9, 1.5), ("percent", 1.6, 2.0),
              ("Great", 2.6, 2.9), ("news", 3.0, 3.3), ("right", 3.5, 3.9)]
    payload = {"task": "transcribe", "duration": 6.0, "text": "Sales rose 4.2 percent. Great news, right?",
               "words": [{"word": w, "start": s, "end": e} for w, s, e in spoken]}
    subs = list(srt.parse(render(normalize(payload), "srt")))
    assert " ".join(s.content.replace("\n", " ") for s in subs) == payload["text"]


def test_caption_options_are_honoured() -> None:
    options = RenderOptions(max_line_width=30, max_lines=1, max_cue_duration=3.0)
    for sub in srt.parse(render(transcript_for("assemblyai"), "srt", options)):
        lines = sub.content.split("\n")
        assert len(lines) == 1
        assert len(lines[0]) <= 30
        assert (sub.end - sub.start).total_seconds() <= 3.0


# -- speakers ------------------------------------------------------------------------------------

def test_text_has_a_paragraph_per_speaker_turn() -> None:
    text = render(transcript_for("assemblyai"), "text")
    paragraphs = text.rstrip("\n").split("\n\n")
    assert len(paragraphs) == 6
    assert paragraphs[0].startswith("Speaker A: Hi, thanks for calling")
    assert paragraphs[1].startswith("Speaker B: Hi Dana.")


def test_text_without_speaker_labels_is_the_plain_transcript() -> None:
    t = transcript_for("assemblyai")
    assert render(t, "text", RenderOptions(speaker_labels=False)) == t.text + "\n"


@pytest.mark.parametrize("names", [{"A": "Dana", "B": "Sam"},
                                   {"Speaker A": "Dana", "Speaker B": "Sam"}])
def test_speaker_names_by_raw_id_or_label(names: dict[str, str]) -> None:
    t = transcript_for("assemblyai")
    options = RenderOptions(speaker_names=names)
    assert render(t, "text", options).startswith("Dana: Hi, thanks")
    assert render(t, "srt", options).split("\n")[2].startswith("[Dana] ")
    assert {c.voice for c in vtt_cues(render(t, "vtt", options))} == {"Dana", "Sam"}


def test_deepgram_speaker_names_use_zero_based_raw_ids() -> None:
    t = transcript_for("deepgram_object_diarized")
    by_raw = render(t, "text", RenderOptions(speaker_names={"0": "Host", "1": "Guest"}))
    by_label = render(t, "text", RenderOptions(speaker_names={"Speaker 1": "Host",
                                                               "Speaker 2": "Guest"}))
    assert by_raw == by_label
    assert by_raw.startswith("Host: Thanks for having me.")


def test_renamed_speaker_prefix_still_respects_line_width() -> None:
    t = transcript_for("deepgram_object_diarized")
    options = RenderOptions(speaker_names={"0": "Dr. Margaret Oyelaran-Whitfield"})
    for sub in srt.parse(render(t, "srt", options)):
        for line in sub.content.split("\n"):
            assert len(line) <= 42 or len(line.split("] ", 1)[-1].split()) == 1


def test_a_speaker_label_wider_than_a_line_gets_a_line_of_its_own() -> None:
    t = transcript_for("deepgram_object_diarized")
    name = "Dr. Margaret Oyelaran-Whitfield"
    options = RenderOptions(max_line_width=30, speaker_names={"0": name})
    subs = list(srt.parse(render(t, "srt", options)))
    labelled = [s.content.split("\n") for s in subs if s.content.startswith(f"[{name}]")]
    assert labelled
    for lines in labelled:
        assert lines[0] == f"[{name}]"
        assert len(lines) == 2 and len(lines[1]) <= 30
    for sub in subs:
        assert len(sub.content.split("\n")) <= 2


def test_parse_speaker_names() -> None:
    assert parse_speaker_names("A=Alice, B = Bob ,Speaker 3=Carol Ann") == {
        "A": "Alice", "B": "Bob", "Speaker 3": "Carol Ann"}
    assert parse_speaker_names("") == {}
    assert parse_speaker_names("0=x=y") == {"0": "x=y"}


@pytest.mark.parametrize("spec", ["A", "A=", "=Alice", "A=Alice,B"])
def test_parse_speaker_names_rejects_bad_syntax(spec: str) -> None:
    with pytest.raises(UsageError, match="LABEL=NAME"):
        parse_speaker_names(spec)


# -- text, json, raw, registry -------------------------------------------------------------------

def test_vtt_escapes_markup_characters() -> None:
    words = [Word("Tom", 0.0, 0.3, speaker="Speaker 1"), Word("&", 0.35, 0.5, speaker="Speaker 1"),
             Word("<Jerry>", 0.55, 0.9, speaker="Speaker 1"), Word("a-->b", 2.0, 2.5, speaker="B<")]
    t = Transcript(text="", words=words, speakers=["Speaker 1", "B<"], timing="words")
    out = render(t, "vtt")
    assert "Tom &amp; &lt;Jerry&gt;" in out
    assert "a--&gt;b" in out and "<v B&lt;>" in out
    assert out.count(" --> ") == 2
    assert render(t, "srt").count("Tom & <Jerry>") == 1


def test_json_is_pretty_and_unicode() -> None:
    t = normalize({"text": "Déjà vu — again."})
    out = render(t, "json")
    assert out.startswith('{\n  "schema_version": 1,')
    assert "Déjà vu — again." in out
    assert normalize(json.loads(out)).text == "Déjà vu — again."


def test_raw_writes_the_payload_untouched() -> None:
    payload = load_payload("assemblyai")
    assert json.loads(render(normalize(payload), "raw")) == payload
    assert render(normalize("plain words"), "raw") == "plain words\n"
    with pytest.raises(UsageError):
        render(Transcript(text="x"), "raw")


def test_empty_transcript_renders_empty_captions() -> None:
    t = normalize({"text": "", "segments": []})
    assert render(t, "srt") == ""
    assert render(t, "vtt") == "WEBVTT\n"
    assert render(t, "text") == "\n"


def test_registry() -> None:
    assert set(WRITERS) == {"text", "json", "raw", "srt", "vtt"}
    assert EXTENSIONS == {"text": "txt", "json": "json", "raw": "raw.json", "srt": "srt", "vtt": "vtt"}
    assert ALL_FORMATS == ["text", "json", "srt", "vtt"]
    with pytest.raises(UsageError, match="unknown format 'docx'"):
        render(Transcript(text="x"), "docx")


def test_write_to_a_stream() -> None:
    stream = io.StringIO()
    write(transcript_for("openai_json"), "text", stream)
    assert stream.getvalue().startswith("Hi, it's Maria")
