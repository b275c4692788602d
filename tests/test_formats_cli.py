"""Formats through the commands: several at once, file naming, `stt convert`, caption options."""

from __future__ import annotations

import io
import json
from pathlib import Path

import srt
import webvtt

from tests.conftest import make_wav
from tests.helpers import run_cli
from tests.servers import deepgram_payload

FAST = ("--poll-interval", "0.05")
DATA = Path(__file__).parent / "data" / "payloads"
LONG_TEXT = ("Welcome back to the show. Today we are talking about subtitles, captions, and why they matter "
             "so much for accessibility. Good captions are short, well timed, and easy to read!")


def test_all_formats_next_to_the_input(aiml, wav):
    r = run_cli("transcribe", wav, "-f", "all", *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    names = sorted(p.name for p in wav.parent.iterdir() if p.stem == "talk")
    assert names == ["talk.json", "talk.srt", "talk.txt", "talk.vtt", "talk.wav"]
    assert json.loads((wav.parent / "talk.json").read_text())["schema_version"] == 1


def test_two_formats_beside_dash_o(aiml, wav, tmp_path):
    r = run_cli("transcribe", wav, "-f", "srt", "-f", "vtt", "-o", tmp_path / "out" / "captions.srt", *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["captions.srt", "captions.vtt"]


def test_captions_are_valid_and_shaped(aiml, wav):
    aiml.payload = deepgram_payload(LONG_TEXT, duration=14.0)
    r = run_cli("transcribe", wav, "-f", "srt", *FAST)
    assert r.exit_code == 0, r.stderr
    cues = list(srt.parse(r.stdout))
    assert srt.compose(cues) == r.stdout
    assert " ".join(c.content.replace("\n", " ") for c in cues) == LONG_TEXT
    for cue in cues:
        assert all(len(line) <= 42 for line in cue.content.splitlines())
        assert len(cue.content.splitlines()) <= 2
        assert (cue.end - cue.start).total_seconds() <= 7.0
    r = run_cli("fetch", json.loads(run_cli("status", "--json").stdout)["job_id"], "-f", "vtt")
    captions = webvtt.from_buffer(io.StringIO(r.stdout))
    assert len(captions) == len(cues)
    assert captions[0].start == "00:00:00.000"


def test_caption_options_apply(aiml, wav):
    aiml.payload = deepgram_payload(LONG_TEXT, duration=14.0)
    r = run_cli("transcribe", wav, "-f", "srt", "--max-line-width", "20", "--max-lines", "1", *FAST)
    assert r.exit_code == 0, r.stderr
    for cue in srt.parse(r.stdout):
        assert len(cue.content.splitlines()) == 1 and len(cue.content) <= 20


def test_convert_our_json_and_raw_payloads(aiml, wav, tmp_path):
    r = run_cli("transcribe", wav, "-f", "json", "-f", "raw", "-f", "srt", "--output-dir", tmp_path / "o", *FAST)
    assert r.exit_code == 0, r.stderr
    expected = (tmp_path / "o" / "talk.srt").read_text()
    for source in ("talk.json", "talk.raw.json"):
        r = run_cli("convert", tmp_path / "o" / source, "-f", "srt", "-o", "-")
        assert (r.exit_code, r.stdout) == (0, expected)


def test_convert_every_fixture_shape(tmp_path):
    for payload in sorted(DATA.glob("*.json")):
        has_times = "openai_json" not in payload.name
        r = run_cli("convert", payload, "-f", "vtt" if has_times else "text", "-o", "-")
        assert r.exit_code == 0, (payload.name, r.stderr)


def test_convert_speaker_names():
    r = run_cli("convert", DATA / "assemblyai.json", "-f", "vtt", "--speaker-names", "A=Dana,B=Sam")
    assert r.exit_code == 0, r.stderr
    voices = {c.voice for c in webvtt.from_buffer(io.StringIO(r.stdout))}
    assert voices == {"Dana", "Sam"}


def test_convert_errors(tmp_path):
    assert run_cli("convert", tmp_path / "missing.json").exit_code == 2
    (tmp_path / "odd.json").write_text('{"hello": 1}')
    r = run_cli("convert", tmp_path / "odd.json", "-f", "srt")
    assert r.exit_code == 2
    assert "expected" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("convert", DATA / "openai_json.json", "-f", "srt", "-o", tmp_path / "x.srt")
    assert r.exit_code == 2 and "no timestamps" in r.stderr
    assert not (tmp_path / "x.srt").exists()


def test_unknown_format_is_usage_error(aiml, wav):
    r = run_cli("transcribe", wav, "-f", "docx")
    assert r.exit_code == 2 and "unknown format 'docx'" in r.stderr
    assert aiml.log == []


def test_dash_o_keeps_a_dotted_stem(aiml, tmp_path):
    audio = make_wav(tmp_path / "my.slow.talk.wav")
    r = run_cli("transcribe", audio, "-f", "srt", "-f", "vtt", "-o", tmp_path / "out" / "my.slow.talk", *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["my.slow.talk.srt", "my.slow.talk.vtt"]


def test_convert_all_refuses_to_overwrite_its_input_and_writes_nothing(tmp_path):
    source = tmp_path / "talk.json"
    source.write_text((DATA / "deepgram_list.json").read_text())
    (tmp_path / "talk.txt").write_text("OLD\n")
    r = run_cli("convert", source, "-f", "all")
    assert r.exit_code == 2 and "refusing to overwrite the input" in r.stderr
    assert (tmp_path / "talk.txt").read_text() == "OLD\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.json", "talk.txt"]


def test_convert_empty_and_binary_inputs(tmp_path, wav):
    (tmp_path / "empty.json").write_text("")
    r = run_cli("convert", tmp_path / "empty.json")
    assert r.exit_code == 2 and "is empty" in r.stderr
    r = run_cli("convert", wav)
    assert r.exit_code == 2 and "is not a transcript" in r.stderr and "stt transcribe" in r.stderr


def test_fetch_names_url_jobs_by_the_url_file_name(aiml, tmp_path):
    job_id = run_cli("submit", "https://example.com/audio/keynote.mp3?sig=abc").stdout.strip()
    r = run_cli("fetch", job_id, "-f", "srt", "-f", "text", "--output-dir", tmp_path / "o", "--wait", *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["keynote.srt", "keynote.txt"]
