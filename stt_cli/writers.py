"""Output formats in a registry: text, json, raw, srt, vtt.

SRT and VTT share one cue engine (``captions.build_cues``) and differ only in data (``SubtitleStyle``):
the decimal marker, cue numbers, the header, escaping and how a speaker is marked. Speakers are marked
only when the transcript has two or more. SRT has no speaker markup, so a visible ``[Speaker 1] ``
prefix opens the first cue of each speaker turn (as subtitlers label a change of speaker, not every
line) and counts toward the line width; a label too wide to share a line with text gets the cue's
first line to itself. VTT puts a ``<v Speaker 1>`` voice span on every cue (cues are
independent there, and players do not display the tag, so it does not count toward the width).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from stt_cli.captions import CaptionOptions, build_cues, format_timestamp
from stt_cli.errors import UsageError
from stt_cli.transcript import Transcript, transcript_to_json


@dataclass
class RenderOptions(CaptionOptions):
    speaker_labels: bool = True
    # Keys may be raw ids ("A", "0") or display labels ("Speaker A", "Speaker 1").
    speaker_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    render: Callable[[Transcript, RenderOptions], str]


@dataclass(frozen=True)
class SubtitleStyle:
    decimal_marker: str
    header: str
    numbered: bool
    speaker_prefix: str  # "{name}" is replaced; empty for none
    voice_spans: bool
    escape: Callable[[str], str]
    always_hours: bool = True


def render(transcript: Transcript, fmt: str, options: RenderOptions | None = None) -> str:
    """The whole file content for ``fmt``; non-empty content ends with a newline."""
    return _writer(fmt).render(transcript, options or RenderOptions())


def write(transcript: Transcript, fmt: str, stream: TextIO,
          options: RenderOptions | None = None) -> None:
    """Render into an open text stream: where it goes (file, stdout) is the caller's business."""
    stream.write(render(transcript, fmt, options))


def parse_speaker_names(spec: str) -> dict[str, str]:
    """``"A=Alice,B=Bob"`` -> ``{"A": "Alice", "B": "Bob"}``."""
    names: dict[str, str] = {}
    for entry in spec.split(","):
        if not entry.strip():
            continue
        label, sep, name = entry.partition("=")
        if not sep or not label.strip() or not name.strip():
            raise UsageError(
                f"bad speaker name {entry.strip()!r}: expected LABEL=NAME",
                hint="e.g. --speaker-names 'A=Alice,B=Bob' or --speaker-names 'Speaker 1=Alice'",
            )
        names[label.strip()] = name.strip()
    return names


def speaker_name(transcript: Transcript, label: str, names: dict[str, str]) -> str:
    """The name to show for a display label: renamed by label or raw id, else the label."""
    if label in names:
        return names[label]
    raw_id = transcript.speaker_ids.get(label)
    if raw_id is not None and raw_id in names:
        return names[raw_id]
    return label


# -- text, json, raw --------------------------------------------------------------------------

def render_text(transcript: Transcript, options: RenderOptions) -> str:
    """One paragraph per speaker turn, labelled, when there are two or more speakers."""
    if options.speaker_labels and len(transcript.speakers) >= 2:
        turns = _speaker_turns(transcript)
        if turns:
            paragraphs = [
                f"{speaker_name(transcript, speaker, options.speaker_names)}: {text}"
                if speaker else text
                for speaker, text in turns
            ]
            return "\n\n".join(paragraphs) + "\n"
    return transcript.text.rstrip("\n") + "\n"


def _speaker_turns(transcript: Transcript) -> list[tuple[str | None, str]]:
    pieces: list[tuple[str | None, str]]
    if any(w.speaker for w in transcript.words):
        pieces = [(w.speaker, w.text) for w in transcript.words]
    else:
        pieces = [(s.speaker, s.text) for s in transcript.segments]
    turns: list[tuple[str | None, list[str]]] = []
    for speaker, text in pieces:
        if turns and turns[-1][0] == speaker:
            turns[-1][1].append(text)
        else:
            turns.append((speaker, [text]))
    return [(speaker, " ".join(texts)) for speaker, texts in turns]


def render_json(transcript: Transcript, options: RenderOptions) -> str:
    return json.dumps(transcript_to_json(transcript), indent=2, ensure_ascii=False) + "\n"


def render_raw(transcript: Transcript, options: RenderOptions) -> str:
    raw = transcript.raw
    if raw is None:
        raise UsageError("this transcript carries no provider payload to write as raw")
    if isinstance(raw, str):
        return raw if raw.endswith("\n") else raw + "\n"
    return json.dumps(raw, indent=2, ensure_ascii=False) + "\n"


# -- subtitles --------------------------------------------------------------------------------

def _no_escape(text: str) -> str:
    return text


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SRT_STYLE = SubtitleStyle(decimal_marker=",", header="", numbered=True, speaker_prefix="[{name}] ",
                          voice_spans=False, escape=_no_escape)
VTT_STYLE = SubtitleStyle(decimal_marker=".", header="WEBVTT\n\n", numbered=False, speaker_prefix="",
                          voice_spans=True, escape=_escape_vtt)


def render_subtitles(transcript: Transcript, options: RenderOptions, style: SubtitleStyle) -> str:
    mark_speakers = options.speaker_labels and len(transcript.speakers) >= 2

    def name(speaker: str) -> str:
        return speaker_name(transcript, speaker, options.speaker_names)

    def prefix_width(speaker: str) -> int:
        return len(style.speaker_prefix.format(name=name(speaker)))

    cues = build_cues(transcript, options,
                      prefix_width=prefix_width if mark_speakers and style.speaker_prefix else None)
    if not cues:
        return style.header.rstrip("\n") + "\n" if style.header else ""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        lines = [style.escape(line) for line in cue.lines]
        if mark_speakers and cue.speaker:
            speaker = name(cue.speaker)
            if style.speaker_prefix and cue.turn_start:
                prefix = style.escape(style.speaker_prefix.format(name=speaker))
                if cue.label_line:
                    lines.insert(0, prefix.rstrip())
                else:
                    lines[0] = prefix + lines[0]
            if style.voice_spans:
                lines[0] = f"<v {style.escape(speaker)}>{lines[0]}"
        start = format_timestamp(cue.start, style.decimal_marker, style.always_hours)
        end = format_timestamp(cue.end, style.decimal_marker, style.always_hours)
        number_line = f"{number}\n" if style.numbered else ""
        blocks.append(f"{number_line}{start} --> {end}\n" + "\n".join(lines) + "\n\n")
    return style.header + "".join(blocks)


def render_srt(transcript: Transcript, options: RenderOptions) -> str:
    return render_subtitles(transcript, options, SRT_STYLE)


def render_vtt(transcript: Transcript, options: RenderOptions) -> str:
    return render_subtitles(transcript, options, VTT_STYLE)


WRITERS: dict[str, Writer] = {
    "text": Writer("text", "txt", render_text),
    "json": Writer("json", "json", render_json),
    # "raw.json" so a raw file never overwrites the normalized json next to it.
    "raw": Writer("raw", "raw.json", render_raw),
    "srt": Writer("srt", "srt", render_srt),
    "vtt": Writer("vtt", "vtt", render_vtt),
}
EXTENSIONS: dict[str, str] = {name: writer.extension for name, writer in WRITERS.items()}
ALL_FORMATS: list[str] = ["text", "json", "srt", "vtt"]


def _writer(fmt: str) -> Writer:
    try:
        return WRITERS[fmt]
    except KeyError:
        choices = ", ".join(WRITERS)
        raise UsageError(f"unknown format {fmt!r}; choose from {choices}, or all") from None
