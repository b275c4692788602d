"""The normalized transcript every provider payload is turned into, and the normalizers.

Times are always seconds (floats). ``raw`` keeps the provider payload untouched so ``-f raw`` and
``stt convert`` can always go back to the source.

Shapes read by ``normalize`` (see API-NOTES.md):

- Deepgram-style (whisper, nova): ``metadata`` + ``results.channels[0].alternatives[0]``; ``channels``
  may be a list or a single object; only channel 0 is read.
- AssemblyAI-style (``aai/*``): ``text``, ``words``/``utterances`` with times in milliseconds.
- OpenAI ``json`` (``{text, usage?}``) and ``verbose_json`` (``segments``, ``words``, seconds).
- Plain text (a ``str`` payload).
- Our own JSON output (``schema_version``), so ``stt convert`` can re-read it.
- The AIML job envelope (``{status, result|output}``), unwrapped.

Speaker labels: providers use raw ids (Deepgram ints from 0, AssemblyAI letters). They become display
labels once, here: an int ``n`` becomes ``"Speaker {n + 1}"``, a string ``s`` becomes ``"Speaker {s}"``
(unchanged when it already starts with ``"Speaker "``). ``Transcript.speaker_ids`` maps each display
label back to its raw id so ``--speaker-names 0=Alice`` and ``--speaker-names "Speaker 1=Alice"`` both
work.

Bad values are repaired or dropped rather than trusted: non-numeric, NaN or infinite times make a word
or segment untimed (dropped from the timed lists), negative times are clamped to 0 and an end before its
start is moved to the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stt_cli.errors import BadResponseError

SCHEMA_VERSION = 1

EXPECTED_SHAPES = (
    "a Deepgram-style result (metadata + results.channels[0].alternatives[0]), "
    "an AssemblyAI-style result (text, words, utterances), "
    "an OpenAI json/verbose_json result (text, segments, words), "
    "plain text, or stt's own JSON output (schema_version)"
)

# A job envelope inside a job envelope is already a server bug; deeper nesting is garbage.
_MAX_ENVELOPE_DEPTH = 3

# How far ahead in the text a word may be found when restoring punctuation.
_RESYNC_WINDOW = 4

_ASSEMBLYAI_KEYS = frozenset(
    {"utterances", "audio_duration", "language_code", "acoustic_model", "language_model",
     "speech_model"}
)


@dataclass
class Word:
    text: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None


@dataclass
class Segment:
    text: str
    start: float
    end: float
    speaker: str | None = None
    # Normalizers keep words on the transcript itself; this is for callers that build segments.
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    text: str
    language: str | None = None
    duration: float | None = None
    words: list[Word] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    job_id: str | None = None
    # "words", "segments" or "none": how precise the timing is; segment timing split by character
    # share is marked approximate in the JSON output.
    timing: str = "none"
    raw: Any = None
    # Display label -> raw provider id ("Speaker 1" -> "0", "Speaker A" -> "A").
    speaker_ids: dict[str, str] = field(default_factory=dict)

    @property
    def approximate(self) -> bool:
        """True when caption timing has to be estimated from segments."""
        return self.timing == "segments"


def normalize(payload: Any, *, provider: str | None = None, model: str | None = None,
              job_id: str | None = None) -> Transcript:
    """Turn any supported provider payload (or our own JSON) into a ``Transcript``.

    Raises ``BadResponseError`` naming the expected shapes when the payload matches none.
    """
    raw = payload
    body, envelope_id = _unwrap_envelope(payload)
    if isinstance(body, str):
        transcript = Transcript(text=body.strip())
    elif not isinstance(body, dict):
        raise _unknown_shape(f"got {type(body).__name__}")
    elif "schema_version" in body:
        transcript = _from_own_json(body)
    elif isinstance(body.get("results"), dict) or isinstance(body.get("metadata"), dict):
        transcript = _from_deepgram(body)
    elif _looks_like_assemblyai(body):
        transcript = _from_assemblyai(body)
    elif _looks_like_openai(body):
        transcript = _from_openai(body)
    else:
        raise _unknown_shape(_describe_keys(body))
    transcript.raw = raw
    transcript.provider = provider or transcript.provider
    transcript.model = model or transcript.model
    transcript.job_id = job_id or transcript.job_id or envelope_id
    return _finish(transcript)


def transcript_to_json(t: Transcript) -> dict[str, Any]:
    """Our documented JSON form (``schema_version`` 1); ``normalize`` reads it back unchanged.

    The raw payload is not included: ``-f raw`` writes it on its own.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "text": t.text,
        "language": t.language,
        "duration": t.duration,
        "timing": t.timing,
        "approximate": t.approximate,
        "provider": t.provider,
        "model": t.model,
        "job_id": t.job_id,
        "speakers": list(t.speakers),
        "speaker_ids": dict(t.speaker_ids),
        "words": [_word_to_json(w) for w in t.words],
        "segments": [_segment_to_json(s) for s in t.segments],
    }


def _word_to_json(w: Word) -> dict[str, Any]:
    return {"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence,
            "speaker": w.speaker}


def _segment_to_json(s: Segment) -> dict[str, Any]:
    data: dict[str, Any] = {"text": s.text, "start": s.start, "end": s.end, "speaker": s.speaker}
    if s.words:
        data["words"] = [_word_to_json(w) for w in s.words]
    return data


def speaker_label(raw_id: Any) -> str | None:
    """The display label for a raw provider speaker id, or None when the id is not usable."""
    if isinstance(raw_id, bool):
        return None
    if isinstance(raw_id, float) and math.isfinite(raw_id) and raw_id.is_integer():
        raw_id = int(raw_id)
    if isinstance(raw_id, int):
        return f"Speaker {raw_id + 1}" if raw_id >= 0 else None
    if isinstance(raw_id, str):
        cleaned = " ".join(raw_id.split())
        if not cleaned:
            return None
        return cleaned if cleaned.startswith("Speaker ") else f"Speaker {cleaned}"
    return None


# -- envelope and shape detection -------------------------------------------------------------

def _unwrap_envelope(payload: Any) -> tuple[Any, str | None]:
    envelope_id = None
    for _ in range(_MAX_ENVELOPE_DEPTH):
        if not _is_envelope(payload):
            return payload, envelope_id
        envelope_id = envelope_id or _first_str(payload, "generation_id", "id")
        status = payload.get("status")
        inner = payload.get("output")
        if inner is None:
            inner = payload.get("result")
        if inner is None:
            raise BadResponseError(_envelope_problem(status, payload.get("error")))
        payload = inner
    if _is_envelope(payload):
        raise _unknown_shape("job envelopes nested too deeply")
    return payload, envelope_id


def _is_envelope(payload: Any) -> bool:
    if not isinstance(payload, dict) or not ("output" in payload or "result" in payload):
        return False
    # An AssemblyAI result has "status" and "id" too, but never "output"/"result" beside its text.
    has_job_keys = bool({"status", "id", "generation_id"} & payload.keys())
    return has_job_keys and not ({"text", "results", "schema_version"} & payload.keys())


def _envelope_problem(status: Any, error: Any) -> str:
    message = None
    if isinstance(error, dict):
        message = _first_str(error, "message", "name")
    elif isinstance(error, str) and error.strip():
        message = error.strip()
    if message:
        return f"the job reports an error: {message}"
    shown = status if isinstance(status, str) else "unknown"
    return f"the job envelope carries no result (status: {shown})"


def _looks_like_assemblyai(body: dict[str, Any]) -> bool:
    if _ASSEMBLYAI_KEYS & body.keys():
        return True
    words = body.get("words")
    return isinstance(words, list) and any(isinstance(w, dict) and "text" in w for w in words)


def _looks_like_openai(body: dict[str, Any]) -> bool:
    return isinstance(body.get("text"), str) or isinstance(body.get("segments"), list)


def _unknown_shape(detail: str) -> BadResponseError:
    return BadResponseError(
        f"unrecognized transcript payload ({detail}); expected {EXPECTED_SHAPES}",
        hint="save the response with -f raw and report it if it came from a supported model",
    )


def _describe_keys(body: dict[str, Any]) -> str:
    keys = [str(k) for k in list(body)[:6]]
    return "keys: " + ", ".join(keys) if keys else "an empty object"


# -- the shapes -------------------------------------------------------------------------------

def _from_deepgram(body: dict[str, Any]) -> Transcript:
    results = _dict(body.get("results"))
    channel = _first_item(results.get("channels"))
    alternative = _first_item(channel.get("alternatives"))
    if not alternative:
        raise _unknown_shape("Deepgram-style result without results.channels[0].alternatives[0]")
    words = [w for w in (_deepgram_word(item) for item in _list(alternative.get("words"))) if w]
    segments = _deepgram_utterances(results.get("utterances")) or _deepgram_sentences(
        alternative.get("paragraphs"))
    text = _str(alternative.get("transcript"))
    metadata = _dict(body.get("metadata"))
    return Transcript(
        text=text.strip() if text is not None else _join_words(words, segments),
        language=_str(channel.get("detected_language")) or _str(metadata.get("language")),
        duration=_seconds(metadata.get("duration")),
        words=words,
        segments=segments,
        model=_deepgram_model(metadata),
    )


def _deepgram_word(item: Any) -> Word | None:
    if not isinstance(item, dict):
        return None
    text = _clean_text(item.get("punctuated_word")) or _clean_text(item.get("word"))
    return _make_word(text, item.get("start"), item.get("end"), item, per_second=1.0)


def _deepgram_utterances(value: Any) -> list[Segment]:
    segments = []
    for item in _list(value):
        if isinstance(item, dict):
            segment = _make_segment(item.get("transcript"), item.get("start"), item.get("end"),
                                    item.get("speaker"), per_second=1.0)
            if segment:
                segments.append(segment)
    return segments


def _deepgram_sentences(value: Any) -> list[Segment]:
    """Sentences from ``paragraphs``, which come as ``{paragraphs: [...]}`` or as a list of those."""
    containers = value if isinstance(value, list) else [value]
    segments = []
    for container in containers:
        if not isinstance(container, dict):
            continue
        paragraphs = container.get("paragraphs")
        for paragraph in paragraphs if isinstance(paragraphs, list) else [paragraphs]:
            if not isinstance(paragraph, dict):
                continue
            for sentence in _list(paragraph.get("sentences")):
                if isinstance(sentence, dict):
                    segment = _make_segment(sentence.get("text"), sentence.get("start"),
                                            sentence.get("end"), paragraph.get("speaker"),
                                            per_second=1.0)
                    if segment:
                        segments.append(segment)
    return segments


def _deepgram_model(metadata: dict[str, Any]) -> str | None:
    info = metadata.get("model_info")
    if isinstance(info, dict):
        for entry in info.values():
            if isinstance(entry, dict) and _str(entry.get("name")):
                return _str(entry.get("name"))
    return None


def _from_assemblyai(body: dict[str, Any]) -> Transcript:
    words = [w for w in (_assemblyai_word(item) for item in _list(body.get("words"))) if w]
    utterances = [u for u in _list(body.get("utterances")) if isinstance(u, dict)]
    if not words:
        words = [w for u in utterances for w in
                 (_assemblyai_word(item) for item in _list(u.get("words"))) if w]
    segments = [s for s in (_make_segment(u.get("text"), u.get("start"), u.get("end"),
                                          u.get("speaker"), per_second=1000.0) for u in utterances) if s]
    text = _str(body.get("text"))
    if text is None and not words and not segments:
        raise BadResponseError(_assemblyai_problem(body))
    return Transcript(
        text=text.strip() if text is not None else _join_words(words, segments),
        language=_str(body.get("language_code")),
        duration=_seconds(body.get("audio_duration")),
        words=words,
        segments=segments,
        model=_str(body.get("speech_model")),
    )


def _assemblyai_word(item: Any) -> Word | None:
    if not isinstance(item, dict):
        return None
    return _make_word(_clean_text(item.get("text")), item.get("start"), item.get("end"), item,
                      per_second=1000.0)


def _assemblyai_problem(body: dict[str, Any]) -> str:
    error = _str(body.get("error"))
    if error:
        return f"the transcription failed: {error}"
    status = _str(body.get("status")) or "unknown"
    return f"the AssemblyAI-style result has no text (status: {status})"


def _from_openai(body: dict[str, Any]) -> Transcript:
    segment_items = [s for s in _list(body.get("segments")) if isinstance(s, dict)]
    segments = [s for s in (_make_segment(item.get("text"), item.get("start"), item.get("end"),
                                          item.get("speaker"), per_second=1.0)
                            for item in segment_items) if s]
    word_items = _list(body.get("words")) or [w for s in segment_items for w in _list(s.get("words"))]
    words = [w for w in (_openai_word(item) for item in word_items) if w]
    text = _str(body.get("text"))
    if text is not None:
        _restore_punctuation(words, text)
    return Transcript(
        text=text.strip() if text is not None else _join_words(words, segments),
        language=_str(body.get("language")),
        duration=_seconds(body.get("duration")),
        words=words,
        segments=segments,
    )


def _openai_word(item: Any) -> Word | None:
    if not isinstance(item, dict):
        return None
    confidence_source = {"confidence": item.get("confidence", item.get("probability"))}
    return _make_word(_clean_text(item.get("word")), item.get("start"), item.get("end"),
                      {**confidence_source, "speaker": item.get("speaker")}, per_second=1.0)


def _restore_punctuation(words: list[Word], text: str) -> None:
    """OpenAI word timestamps come without punctuation: take each word's spelling from the text.

    Words and text tokens are matched by their letters and digits alone, so symbols inside a word
    (``4.2``, ``R&D``, ``well-known``, ``10%``, ``U.S.``) neither block nor skew the match. A word is
    only replaced by a text token with the same key, looking a few tokens ahead to resynchronize, so
    a mismatch leaves that word as it was. Words that already carry their punctuation (as some
    compatible servers send them) match their own token and come out unchanged, so there is no
    all-or-nothing guess about the whole transcript.
    """
    tokens = text.split()
    keys = [_match_key(token) for token in tokens]
    position = 0
    for word in words:
        key = _match_key(word.text)
        if not key:
            continue  # "&" or "-" alone: nothing to match on
        for index in range(position, min(position + _RESYNC_WINDOW, len(tokens))):
            if keys[index] == key:
                word.text = tokens[index]
                position = index + 1
                break


def _match_key(token: str) -> str:
    """Letters and digits only: ``"U.S.,"``, ``"U.S"`` and ``"us"`` all give ``"us"``."""
    return "".join(ch for ch in token.casefold() if ch.isalnum())


def _from_own_json(body: dict[str, Any]) -> Transcript:
    version = body.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise BadResponseError(
            f"unsupported stt JSON schema_version {version!r} (this version reads {SCHEMA_VERSION})")
    words = [w for w in (_own_word(item) for item in _list(body.get("words"))) if w]
    segments = [s for s in (_own_segment(item) for item in _list(body.get("segments"))) if s]
    text = _str(body.get("text"))
    ids = body.get("speaker_ids")
    return Transcript(
        text=text if text is not None else _join_words(words, segments),
        language=_str(body.get("language")),
        duration=_seconds(body.get("duration")),
        words=words,
        segments=segments,
        speakers=[s for s in _list(body.get("speakers")) if isinstance(s, str) and s],
        provider=_str(body.get("provider")),
        model=_str(body.get("model")),
        job_id=_str(body.get("job_id")),
        speaker_ids={k: v for k, v in ids.items() if isinstance(v, str)}
        if isinstance(ids, dict) else {},
    )


def _own_word(item: Any) -> Word | None:
    if not isinstance(item, dict):
        return None
    # Our own labels are already display labels: keep them verbatim.
    word = _make_word(_clean_text(item.get("text")), item.get("start"), item.get("end"),
                      {"confidence": item.get("confidence")}, per_second=1.0)
    if word:
        word.speaker = _own_speaker(item.get("speaker"))
    return word


def _own_segment(item: Any) -> Segment | None:
    if not isinstance(item, dict):
        return None
    segment = _make_segment(item.get("text"), item.get("start"), item.get("end"), None, per_second=1.0)
    if segment:
        segment.speaker = _own_speaker(item.get("speaker"))
        segment.words = [w for w in (_own_word(x) for x in _list(item.get("words"))) if w]
    return segment


def _own_speaker(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- building blocks --------------------------------------------------------------------------

def _make_word(text: str | None, start: Any, end: Any, source: dict[str, Any],
               *, per_second: float) -> Word | None:
    times = _span(start, end, per_second)
    if not text or times is None:
        return None
    return Word(text=text, start=times[0], end=times[1],
                confidence=_finite(source.get("confidence")),
                speaker=speaker_label(source.get("speaker")))


def _make_segment(text: Any, start: Any, end: Any, speaker: Any, *, per_second: float) -> Segment | None:
    cleaned = _clean_text(text)
    times = _span(start, end, per_second)
    if not cleaned or times is None:
        return None
    return Segment(text=cleaned, start=times[0], end=times[1], speaker=speaker_label(speaker))


def _span(start: Any, end: Any, per_second: float) -> tuple[float, float] | None:
    """Times in seconds; division (not * 0.001) keeps 700 ms at exactly 0.7 s."""
    start_s = _finite(start)
    end_s = _finite(end)
    if start_s is None or end_s is None:
        return None
    start_s = max(0.0, start_s / per_second)
    end_s = max(start_s, end_s / per_second)
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        return None
    return start_s, end_s


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _seconds(value: Any) -> float | None:
    number = _finite(value)
    return number if number is not None and number >= 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _clean_text(value: Any) -> str | None:
    """Whitespace collapsed to single spaces: a newline inside a word would break SRT/VTT cues."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _first_str(mapping: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_item(value: Any) -> dict[str, Any]:
    """``channels``/``alternatives`` come as a list in practice and as an object in the schema."""
    if isinstance(value, list):
        return _dict(value[0]) if value else {}
    return _dict(value)


def _join_words(words: list[Word], segments: list[Segment]) -> str:
    if words:
        return " ".join(w.text for w in words)
    return " ".join(s.text for s in segments)


def _finish(t: Transcript) -> Transcript:
    """Derive what depends on the parts: timing, speakers, raw ids, a missing duration."""
    t.timing = "words" if t.words else "segments" if t.segments else "none"
    labels = [w.speaker for w in t.words] + [s.speaker for s in t.segments]
    if not t.speakers:
        t.speakers = list(dict.fromkeys(label for label in labels if label))
    if not t.speaker_ids:
        t.speaker_ids = _raw_speaker_ids(t.raw, t.speakers)
    if t.duration is None:
        ends = [w.end for w in t.words] + [s.end for s in t.segments]
        t.duration = max(ends) if ends else None
    return t


def _raw_speaker_ids(raw: Any, labels: list[str]) -> dict[str, str]:
    """Map each display label back to the raw id it came from, for ``--speaker-names``."""
    found: dict[str, str] = {}
    for candidate in _candidate_raw_ids(raw):
        label = speaker_label(candidate)
        if label in labels and label not in found:
            found[label] = str(int(candidate)) if isinstance(candidate, int | float) else candidate
    return {label: found[label] for label in labels if label in found}


def _candidate_raw_ids(raw: Any) -> list[Any]:
    """Speaker values as the provider wrote them (bounded walk: payloads can be hostile)."""
    found: list[Any] = []
    stack = [(raw, 0)]
    while stack and len(found) < 10_000:
        node, depth = stack.pop()
        if depth > 8:
            continue
        if isinstance(node, dict):
            speaker = node.get("speaker")
            if speaker_label(speaker) is not None:
                found.append(speaker)
            stack.extend((child, depth + 1) for child in node.values()
                         if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return found
