"""The OpenAI-compatible provider end to end: the CLI against a real local ``/v1/audio/transcriptions``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import srt

from stt_cli.providers.openai import OpenAIProvider, download_name, is_json_only_model
from tests.conftest import make_wav
from tests.helpers import run_cli
from tests.openai_server import OPENAI_KEY, TALK, FakeFiles, FakeOpenAI, fastapi_missing, openai_error
from tests.servers import Fault

ROUTE = "POST /v1/audio/transcriptions"


@pytest.fixture(autouse=True)
def fresh_provider_memory() -> Iterator[None]:
    # The provider remembers servers that refused verbose_json; ports are reused between tests.
    OpenAIProvider._json_only.clear()
    yield
    OpenAIProvider._json_only.clear()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    yield server
    server.stop()


@pytest.fixture
def files() -> Iterator[FakeFiles]:
    server = FakeFiles().start()
    yield server
    server.stop()


@pytest.fixture
def tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the provider's temporary downloads go, so a test can see they are cleaned up."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def stt(api: FakeOpenAI, *args: object) -> list[str]:
    return [str(a) for a in args] + ["--provider", "openai", "--base-url", api.base_url]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the request --------------------------------------------------------------------------------------


def test_transcribe_srt_from_verbose_json(api, wav):
    r = run_cli(*stt(api, "transcribe", wav, "-f", "srt"))
    assert r.exit_code == 0, r.stderr
    cues = list(srt.parse(r.stdout))
    assert srt.compose(cues) == r.stdout
    assert len(cues) >= 3
    assert cues[0].content.startswith("Good morning, everyone,")  # punctuation restored from the text
    assert cues[0].start.total_seconds() == pytest.approx(0.42)
    assert " ".join(c.content.replace("\n", " ") for c in cues) == TALK
    (req,) = api.transcriptions()
    assert req.fields == {"model": "whisper-1", "response_format": "verbose_json",
                          "timestamp_granularities[]": "word,segment"}
    assert (req.file_field, req.file_name) == ("file", "talk.wav")
    assert req.file_sha256 == sha256(wav) and req.file_size == wav.stat().st_size
    assert int(req.headers["content-length"]) > wav.stat().st_size
    assert "transfer-encoding" not in req.headers
    assert req.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")


def test_vtt_and_text(api, wav):
    r = run_cli(*stt(api, "transcribe", wav, "-f", "vtt"))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("WEBVTT\n\n00:00:00.420 --> ")
    r = run_cli(*stt(api, "transcribe", wav, "--force"))
    assert (r.exit_code, r.stdout) == (0, TALK + "\n")


def test_language_prompt_and_temperature_are_sent(api, wav):
    r = run_cli(*stt(api, "transcribe", wav, "-m", "whisper-large-v3", "-l", "en", "--prompt",
                     "Names: Lamport, Kenobi", "--temperature", "0.2"))
    assert r.exit_code == 0, r.stderr
    (req,) = api.transcriptions()
    assert req.fields == {"model": "whisper-large-v3", "language": "en", "prompt": "Names: Lamport, Kenobi",
                          "temperature": "0.2", "response_format": "verbose_json",
                          "timestamp_granularities[]": "word,segment"}


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-2025-03-20",
                                   "gpt-4o-mini-transcribe-2025-12-15", "openai/gpt-4o-mini-transcribe"])
def test_json_only_models_ask_for_json(api, wav, model):
    r = run_cli(*stt(api, "transcribe", wav, "-m", model))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == TALK + "\n"
    (req,) = api.transcriptions()
    assert req.fields == {"model": model, "response_format": "json"}
    assert "warning" not in r.stderr


def test_model_families():
    assert is_json_only_model("gpt-4o-transcribe") and is_json_only_model("OpenAI/GPT-4o-mini-transcribe")
    for model in ("whisper-1", "whisper-large-v3-turbo", "Systran/faster-whisper-small", "gpt-4o-transcriber",
                  "distil-whisper", "my-gpt-4o-transcribe"):
        assert not is_json_only_model(model), model


def test_gpt4o_captions_are_a_clear_error_and_write_nothing(api, wav, tmp_path):
    out = tmp_path / "talk.srt"
    r = run_cli(*stt(api, "transcribe", wav, "-m", "gpt-4o-transcribe", "-f", "srt", "-o", out))
    assert r.exit_code == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith("stt: error: ") and "no timestamps" in first and "gpt-4o-transcribe" in first
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert api.log == []  # refused before uploading (and paying for) anything


def test_check_formats_refuses_captions_from_json_only_models():
    from stt_cli.errors import NoTimestampsError
    from stt_cli.providers.base import check_formats

    check_formats("whisper-1", ["srt", "vtt"])
    check_formats("gpt-4o-transcribe", ["text", "json", "raw"])
    with pytest.raises(NoTimestampsError, match=r"model gpt-4o-transcribe returns no timestamps, so it cannot "
                                                r"make srt/vtt captions"):
        check_formats("gpt-4o-transcribe", ["text", "srt", "vtt"])


# -- servers that refuse verbose_json ----------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [
    (400, openai_error("response_format 'verbose_json' is not supported", param="response_format")),
    (400, {"error": "unsupported response format"}),  # whisper.cpp
    (422, {"detail": [{"type": "enum", "loc": ["body", "response_format"],
                       "msg": "Input should be 'text' or 'json'", "input": "verbose_json"}]}),  # FastAPI
    (400, {"object": "error", "message": "Currently only support response_format `text` or `json`",
           "type": "BadRequestError", "param": None, "code": 400}),  # vLLM
])
def test_verbose_json_refused_falls_back_to_json_once(api, wav, status, body):
    api.reject_verbose_json, api.reject_status, api.reject_body = True, status, body
    r = run_cli(*stt(api, "transcribe", wav, "-m", "some-model"))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == TALK + "\n"
    first, second = api.transcriptions()
    assert first.fields["response_format"] == "verbose_json"
    assert second.fields == {"model": "some-model", "response_format": "json"}
    assert second.file_sha256 == sha256(wav)
    (warning,) = [line for line in r.stderr.splitlines() if "warning" in line]
    assert "verbose_json" in warning and "captions" in warning and "some-model" in warning


def test_captions_stop_at_a_verbose_json_refusal_without_a_second_upload(api, tmp_path):
    api.reject_verbose_json = True
    first, second = (make_wav(tmp_path / f"c{i}.wav", seconds=0.2 + i / 10) for i in range(2))
    r = run_cli(*stt(api, "transcribe", first, second, "-f", "srt", "-f", "text", "-j", "1"))
    assert r.exit_code == 2
    assert "refused verbose_json for model whisper-1, so it returns no timestamps" in r.stderr
    # One upload, refused; no json re-upload that could not make captions, and the second input, whose
    # server is now known to refuse, is not uploaded at all.
    assert [req.fields["response_format"] for req in api.transcriptions()] == ["verbose_json"]


def test_an_unsupported_model_is_not_a_format_refusal(api, wav):
    api.add_fault(ROUTE, Fault(status=400, body=openai_error("Model distil-large-v2 is not supported.")))
    r = run_cli(*stt(api, "transcribe", wav, "-m", "distil-large-v2"))
    assert r.exit_code == 2
    assert "Model distil-large-v2 is not supported." in r.stderr
    assert "warning" not in r.stderr
    assert len(api.transcriptions()) == 1


def test_a_batch_learns_the_refusal_once(api, tmp_path):
    api.reject_verbose_json = True
    inputs = [make_wav(tmp_path / f"part{i}.wav", seconds=0.2 + i / 10) for i in range(3)]
    r = run_cli(*stt(api, "transcribe", *inputs, "-j", "1", "-d", tmp_path / "out"))
    assert r.exit_code == 0, r.stderr
    formats = [req.fields["response_format"] for req in api.transcriptions()]
    assert formats == ["verbose_json", "json", "json", "json"]
    assert r.stderr.count("warning") == 1


def test_an_unrelated_400_is_not_retried(api, wav):
    api.add_fault(ROUTE, Fault(status=400, body=openai_error("Unsupported file format: bin. Supported "
                                                              "formats: flac, m4a, mp3, wav")))
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == ("stt: error: the server rejected the request (HTTP 400): Unsupported "
                                        "file format: bin. Supported formats: flac, m4a, mp3, wav")
    assert len(api.transcriptions()) == 1


def test_an_error_body_with_http_200_is_a_failure_not_a_transcript(api, wav):
    api.add_fault(ROUTE, Fault(status=200, body={"error": "failed to read WAV file"}))  # whisper.cpp
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 5
    assert r.stderr.splitlines()[0] == "stt: error: the server could not transcribe the audio: failed to read WAV file"
    assert run_cli("status").stdout == ""  # no completed job recorded
    assert run_cli(*stt(api, "transcribe", wav)).exit_code == 0  # so the next run asks again
    assert len(api.transcriptions()) == 2


def test_out_of_quota_is_not_retried(api, wav):
    quota = openai_error("You exceeded your current quota, please check your plan and billing details.",
                         type_="insufficient_quota", code="insufficient_quota")
    api.add_fault(ROUTE, Fault(status=429, body=quota), times=5)
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 3
    assert r.stderr.startswith("stt: error: out of quota (HTTP 429): You exceeded your current quota")
    assert len(api.transcriptions()) == 1


def test_an_error_with_a_null_message_shows_what_it_has(api, wav):
    api.add_fault(ROUTE, Fault(status=400, body={"error": {"message": None, "type": "invalid_request_error",
                                                           "code": "audio_too_short"}}))
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == "stt: error: the server rejected the request (HTTP 400): audio_too_short"


@pytest.mark.parametrize("base_url", [None, "https://api.groq.com/openai/v1"])
def test_hosted_endpoints_need_a_key_before_anything_is_sent(wav, base_url):
    where = ["--base-url", base_url] if base_url else []
    r = run_cli("--provider", "openai", *where, "transcribe", wav)
    assert r.exit_code == 3
    assert r.stderr.startswith("stt: error: no API key for https://api.")
    assert "OPENAI_API_KEY" in r.stderr


def test_plain_text_answers(api, wav):
    api.plain_text = True
    r = run_cli(*stt(api, "transcribe", wav, "-f", "json"))
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["text"] == TALK
    r = run_cli(*stt(api, "transcribe", wav, "-f", "srt"))
    assert r.exit_code == 2
    # whisper-1 does return timestamps; this server dropped them: the message must not blame the model.
    assert "the answer for model whisper-1 has no timestamps, so it cannot make captions" in r.stderr
    assert len(api.transcriptions()) == 1  # the second run is served from the ledger


def test_html_answer_is_a_bad_response(api, wav):
    api.add_fault(ROUTE, Fault(status=200, body="<!DOCTYPE html><html>Welcome to nginx</html>",
                               content_type="text/html"))
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 1
    assert "the server sent no transcript (an HTML page, HTTP 200)" in r.stderr


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "message"), [
    (400, openai_error("Audio file might be corrupted or unsupported", param="file"),
     "Audio file might be corrupted or unsupported"),
    (400, {"error": "failed to read WAV file"}, "failed to read WAV file"),
    (404, {"detail": "Model 'tiny.en' is not installed"}, "Model 'tiny.en' is not installed"),
    (422, fastapi_missing("model"), "model: Field required"),
    (400, {"detail": {"error": {"message": "Invalid language 'xx'", "type": "invalid_request_error"}}},
     "Invalid language 'xx'"),
    (400, {"object": "error", "message": "Maximum clip duration (30s) exceeded", "type": "BadRequestError",
           "param": None, "code": 400}, "Maximum clip duration (30s) exceeded"),
    (400, "upstream said:\n  bad audio", "upstream said: bad audio"),
])
def test_every_error_shape_ends_in_the_servers_message(api, wav, status, body, message):
    content_type = "text/plain" if isinstance(body, str) else "application/json"
    api.add_fault(ROUTE, Fault(status=status, body=body, content_type=content_type))
    r = run_cli(*stt(api, "transcribe", wav, "--retries", "0"))
    assert r.exit_code == 2, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("stt: error: ") and lines[0].endswith(f"(HTTP {status}): {message}")
    assert all(line.startswith("stt: ") for line in lines)


def test_server_error_exits_1_and_is_not_resent(api, wav):
    api.add_fault(ROUTE, Fault(status=500, body=openai_error("The server had an error", type_="server_error")))
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 1
    assert "server error (HTTP 500): The server had an error" in r.stderr
    assert "its id never arrived, so a re-run submits it again" in r.stderr
    assert len(api.transcriptions()) == 1  # it may have billed: never sent twice


def test_rate_limit_is_retried(api, wav):
    api.add_fault(ROUTE, Fault(status=429, body=openai_error("Rate limit reached", type_="requests"),
                               headers={"Retry-After": "0", "retry-after-ms": "50"}))
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 0, r.stderr
    assert [req.file_sha256 for req in api.transcriptions()] == [sha256(wav)] * 2


def test_413_explains_the_limit(api, wav):
    api.max_body = 2000
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == ("stt: error: the server refused the upload as too large (HTTP 413): Maximum content size "
                        f"limit (2000) exceeded ({api.transcriptions()[0].headers['content-length']} bytes read)")
    assert lines[1].startswith("stt: hint: the file is 0.0 MB") and "--max-upload-mb" in lines[1]


def test_files_over_25_mb_are_refused_before_uploading(api, tmp_path):
    big = make_wav(tmp_path / "big.wav")
    with open(big, "r+b") as fh:
        fh.truncate(26 * 1000 * 1000)  # sparse: quick to make
    r = run_cli(*stt(api, "transcribe", big))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == "stt: error: " + f"{big} is 26.0 MB, over the 25 MB upload limit"
    assert api.log == []


def test_max_upload_mb_lowers_the_limit(api, wav):
    r = run_cli(*stt(api, "submit", wav, "--max-upload-mb", "0.005"))
    assert r.exit_code == 2
    assert f"{wav} is 0.0 MB, over the 0.005 MB upload limit" in r.stderr
    assert api.log == []


def test_bad_key_exits_3_without_showing_it(api, wav, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-42")
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 3
    assert "rejected the API key (HTTP 401): Incorrect API key provided" in r.stderr
    assert "sk-wrong-key-42" not in r.stderr


def test_stt_api_key_beats_openai_api_key(api, wav, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-42")
    monkeypatch.setenv("STT_API_KEY", OPENAI_KEY)
    r = run_cli(*stt(api, "transcribe", wav))
    assert r.exit_code == 0, r.stderr


def test_a_local_server_needs_no_key(wav, monkeypatch):
    server = FakeOpenAI(api_key=None).start()
    try:
        monkeypatch.setenv("STT_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        r = run_cli("transcribe", wav)
        assert r.exit_code == 0, r.stderr
        assert r.stdout == TALK + "\n"
        (req,) = server.transcriptions()
        assert "authorization" not in req.headers
    finally:
        server.stop()


# -- inputs: stdin and URLs ---------------------------------------------------------------------------


def test_stdin(api, wav):
    r = run_cli(*stt(api, "transcribe", "-", "-f", "srt"), stdin=wav.read_bytes())
    assert r.exit_code == 0, r.stderr
    (req,) = api.transcriptions()
    assert req.file_sha256 == sha256(wav) and req.file_name == "stdin.wav"


def test_url_is_downloaded_without_our_key_then_uploaded(api, files, wav, tmp_dir):
    files.files["/media/talk.wav"] = (wav.read_bytes(), "audio/wav")
    r = run_cli(*stt(api, "transcribe", files.url("/media/talk.wav"), "-f", "srt"))
    assert r.exit_code == 0, r.stderr
    assert srt.compose(list(srt.parse(r.stdout))) == r.stdout
    (get,) = files.requests("GET", "/media/")
    assert "authorization" not in get.headers
    (req,) = api.transcriptions()
    assert (req.file_name, req.file_sha256) == ("talk.wav", sha256(wav))
    assert "transfer-encoding" not in req.headers
    assert list(tmp_dir.iterdir()) == []


def test_url_without_extension_is_named_by_its_content(api, files, wav, tmp_dir):
    files.files["/stream"] = (wav.read_bytes(), "application/octet-stream")
    r = run_cli(*stt(api, "transcribe", files.url("/stream?id=7")))
    assert r.exit_code == 0, r.stderr
    assert api.transcriptions()[0].file_name == "stream.wav"


def test_a_broken_download_starts_again_from_byte_zero(api, files, wav, tmp_dir):
    data = wav.read_bytes()
    files.files["/talk.wav"] = (data, "audio/wav")
    files.add_fault("GET /talk.wav", Fault(status=200, body=data, content_type="audio/wav", truncate=True))
    r = run_cli(*stt(api, "transcribe", files.url("/talk.wav")))
    assert r.exit_code == 0, r.stderr
    assert len(files.requests("GET", "/talk.wav")) == 2
    assert api.transcriptions()[0].file_sha256 == sha256(wav)
    assert list(tmp_dir.iterdir()) == []


def test_url_404_is_one_clear_line(api, files, tmp_dir):
    url = files.url("/missing.wav?X-Amz-Signature=s3cr3t")
    r = run_cli(*stt(api, "transcribe", url))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == f"stt: error: cannot download http://127.0.0.1:{files.port}/missing.wav?…: HTTP 404 Not Found"
    assert "s3cr3t" not in r.stderr
    assert api.log == [] and list(tmp_dir.iterdir()) == []


def test_unreachable_url_names_the_url_not_the_base_url(api, tmp_dir):
    r = run_cli(*stt(api, "transcribe", "http://127.0.0.1:1/talk.wav", "--retries", "0"))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        "stt: error: cannot download http://127.0.0.1:1/talk.wav: connection refused by 127.0.0.1:1",
        "stt: hint: check the URL, and that this machine can reach its host",
    ]
    assert api.log == [] and list(tmp_dir.iterdir()) == []


def test_url_over_the_limit_stops_downloading(api, files, tmp_dir):
    files.files["/long.wav"] = (make_wav(Path(tmp_dir.parent) / "long.wav", seconds=8).read_bytes(), "audio/wav")
    r = run_cli(*stt(api, "transcribe", files.url("/long.wav"), "--max-upload-mb", "0.1"))
    assert r.exit_code == 2
    assert re.match(r"stt: error: http://127\.0\.0\.1:\d+/long\.wav is over the 0\.1 MB upload limit \(stopped "
                    r"downloading at 0\.1 MB\)$", r.stderr.splitlines()[0])
    assert api.log == [] and list(tmp_dir.iterdir()) == []


def test_url_serving_a_web_page_is_refused(api, files, tmp_dir):
    files.files["/watch"] = (b"<!DOCTYPE html><html><body>a video page</body></html>", "text/html")
    r = run_cli(*stt(api, "transcribe", files.url("/watch")))
    assert r.exit_code == 2
    assert "is not audio (the server sent text/html)" in r.stderr
    assert api.log == [] and list(tmp_dir.iterdir()) == []


def test_download_names():
    assert download_name("https://h/a/My%20Talk.MP3?x=1", "audio/mpeg", b"ID3") == "My_Talk.mp3"
    assert download_name("https://h/get", "audio/mpeg", b"\x00\x00") == "get.mp3"
    assert download_name("https://h/", "", b"OggS") == "audio.ogg"
    assert download_name("https://h/x.php", "", b"\x00\x00\x00\x20ftypM4A ") == "x.m4a"


# -- the four commands --------------------------------------------------------------------------------


def test_submit_status_fetch(api, wav, tmp_path, monkeypatch):
    r = run_cli(*stt(api, "submit", wav))
    assert r.exit_code == 0, r.stderr
    job_id = r.stdout.strip()
    assert re.fullmatch(r"local-[0-9a-f]{32}", job_id) and r.stdout == f"{job_id}\n"
    assert len(api.transcriptions()) == 1
    # The job lives in the ledger only: no key, no flags and no requests needed from here on.
    monkeypatch.delenv("OPENAI_API_KEY")
    r = run_cli("status", job_id)
    assert (r.exit_code, r.stdout) == (0, f"{job_id}\tcompleted\n")
    r = run_cli("status", job_id, "--json")
    assert json.loads(r.stdout) == {"job_id": job_id, "status": "completed", "state": "completed",
                                    "error": None}
    r = run_cli("status")
    assert r.stdout.split("\t")[:4] == [job_id, "completed", str(wav.resolve()), "whisper-1"]
    r = run_cli("fetch", job_id, "-f", "srt")
    assert r.exit_code == 0, r.stderr
    assert srt.compose(list(srt.parse(r.stdout))) == r.stdout
    r = run_cli("fetch", job_id, "-f", "all", "-d", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["talk.json", "talk.srt", "talk.txt",
                                                                    "talk.vtt"]
    data = json.loads((tmp_path / "out" / "talk.json").read_text())
    assert (data["provider"], data["model"], data["job_id"]) == ("openai", "whisper-1", job_id)
    assert len(api.transcriptions()) == 1


def test_transcribe_reuses_the_ledger_unless_forced(api, wav):
    assert run_cli(*stt(api, "transcribe", wav)).exit_code == 0
    r = run_cli(*stt(api, "transcribe", wav, "-f", "srt"))
    assert r.exit_code == 0, r.stderr
    assert len(api.transcriptions()) == 1
    r = run_cli(*stt(api, "transcribe", wav, "--force"))
    assert r.exit_code == 0, r.stderr
    assert len(api.transcriptions()) == 2


def test_transcribe_json_names_the_local_job(api, wav):
    r = run_cli(*stt(api, "transcribe", wav, "-f", "json"))
    job_id = json.loads(r.stdout)["job_id"]
    assert job_id.startswith("local-")
    r = run_cli("fetch", job_id, "-f", "text")
    assert (r.exit_code, r.stdout) == (0, TALK + "\n")


@pytest.mark.parametrize("command", ["status", "fetch"])
def test_unknown_local_job_exits_2(api, command):
    r = run_cli(*stt(api, command, "local-0123"))
    assert r.exit_code == 2
    assert "unknown job id 'local-0123'" in r.stderr
    assert api.log == []


def test_temp_download_is_removed_even_when_the_upload_fails(api, files, wav, tmp_dir):
    files.files["/talk.wav"] = (wav.read_bytes(), "audio/wav")
    api.add_fault(ROUTE, Fault(status=400, body={"error": "bad audio"}))
    r = run_cli(*stt(api, "transcribe", files.url("/talk.wav")))
    assert r.exit_code == 2 and "bad audio" in r.stderr
    assert list(tmp_dir.iterdir()) == [] and os.path.isdir(tmp_dir)
