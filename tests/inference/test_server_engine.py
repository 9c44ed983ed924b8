"""`predict --server` against a scripted local server: outputs, order, retries, errors, bad answers."""
from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image
from conftest import WIDTHS
from stub_server import StubServer, free_port

from firered_ocr.cli import main
from firered_ocr.server_client import PageError, chat_request, parse_answer

FAST = ["--set", "server.backoff=0.02", "--timeout", "1"]


def _predict(stub_url, pages, out, *extra):
    return main(["predict", str(pages), "--server", stub_url, "--out", str(out), *FAST, *extra])


def _manifest(out):
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def _errors(err):
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_outputs_in_input_order_whatever_order_answers_arrive(width_pages, tmp_path, capsys):
    # p1 answers last, p6 first; p3 is cut by max_tokens.
    script = {w: [0.1 * (len(WIDTHS) - i)] for i, w in enumerate(WIDTHS)}
    script[103] = ["length"]
    out = tmp_path / "out"
    with StubServer(script) as stub:
        assert _predict(stub.url, width_pages, out, "--concurrency", "6") == 0
    records = _manifest(out)
    assert [r["id"] for r in records] == [f"p{i}" for i in range(1, 7)]
    assert list(records[0]) == ["id", "source", "page", "n_pages", "output", "width", "height", "n_tokens",
                                "truncated", "seconds", "model"]  # the in-process engine's fields, in its order
    for r, w in zip(records, WIDTHS):
        assert (out / r["output"]).read_text() == f"page {w}x40\n"  # leading/trailing newlines stripped
        assert (r["width"], r["height"], r["page"], r["n_pages"], r["model"]) == (w, 40, 1, 1, "stub-model")
        # 5 completion tokens: the end-of-turn token is not counted unless the answer was cut
        assert (r["truncated"], r["n_tokens"]) == ((True, 5) if w == 103 else (False, 4))
    assert stub.answered[-1] == 101 and stub.answered[0] != 101  # the answers did come back out of order
    assert sorted(stub.attempts.items()) == [(w, 1) for w in WIDTHS]


def test_request_is_the_projects_prompt_with_the_sampling_settings(width_pages, tmp_path):
    with StubServer() as stub:
        assert _predict(stub.url, width_pages / "p1.png", tmp_path / "o", "--max-new-tokens", "77") == 0
    body = stub.bodies[0]
    from firered_ocr.prompts import OCR_INSTRUCTION

    assert body["messages"][0]["content"][1] == {"type": "text", "text": OCR_INSTRUCTION}
    url = body["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent, Image.open(width_pages / "p1.png") as page:
        assert sent.convert("RGB").tobytes() == page.convert("RGB").tobytes()  # lossless: the very pixels
    assert {k: body[k] for k in ("model", "max_tokens", "temperature", "stream")} == \
        {"model": "stub-model", "max_tokens": 77, "temperature": 0.0, "stream": False}
    assert "top_p" not in body and "seed" not in body  # greedy: nothing that could make the server sample


def test_transient_faults_are_retried_with_backoff(width_pages, tmp_path, capsys):
    script = {102: ["500", "drop", "stall", "ok"]}
    out = tmp_path / "out"
    with StubServer(script, stall_s=2.0) as stub:
        rc = _predict(stub.url, width_pages, out, "--max-retries", "3", "--timeout", "0.5")
    err = capsys.readouterr().err
    assert rc == 0, err
    assert stub.attempts[102] == 4 and all(stub.attempts[w] == 1 for w in WIDTHS if w != 102)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3
    assert "HTTP 500" in warnings[0] and "connection failed" in warnings[1] and "no answer within 0.5 s" in warnings[2]
    assert (out / "p2.md").read_text() == "page 102x40\n"


def test_out_of_retries_one_error_line_the_rest_continue_and_a_rerun_finishes(width_pages, tmp_path, capsys):
    out = tmp_path / "out"
    with StubServer({104: ["500"]}) as stub:
        rc = _predict(stub.url, width_pages, out, "--max-retries", "2")
    err = capsys.readouterr().err
    assert rc == 1
    errors = _errors(err)
    assert len(errors) == 1 and "p4.png" in errors[0] and "HTTP 500" in errors[0], err
    assert "gave up after 3 attempt(s)" in errors[0] and stub.attempts[104] == 3
    assert not (out / "p4.md").exists()
    assert [r["id"] for r in _manifest(out)] == ["p1", "p2", "p3", "p5", "p6"]
    with StubServer() as stub:  # the server recovered: only the missing page is sent
        assert _predict(stub.url, width_pages, out) == 0
    assert dict(stub.attempts) == {104: 1}
    assert [r["id"] for r in _manifest(out)] == [f"p{i}" for i in range(1, 7)]


@pytest.mark.parametrize("action, message", [
    ("garbage", "malformed answer (not JSON)"),
    ("badgzip", "malformed answer (DecodingError"),
    ("noschema", "malformed answer (no choices[0].message.content)"),
    ("badcontent", "malformed answer (content int"),
])
def test_malformed_answer_is_that_pages_error(width_pages, tmp_path, capsys, action, message):
    out = tmp_path / "out"
    with StubServer({101: [action]}) as stub:
        rc = _predict(stub.url, width_pages, out)
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    errors = _errors(err)
    assert len(errors) == 1 and "p1.png" in errors[0] and message in errors[0], err
    assert stub.attempts[101] == 1  # a bad answer is not a transient fault: not retried
    assert len(list(out.glob("*.md"))) == 5


def test_connection_refused_at_start_is_one_clear_line(width_pages, tmp_path, capsys):
    port = free_port()  # nothing listens there
    rc = main(["predict", str(width_pages), "--server", f"http://127.0.0.1:{port}/v1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach the server at http://127.0.0.1:{port}/v1"), err
    assert not list((tmp_path / "o").glob("*.md"))


@pytest.mark.parametrize("args, message", [
    (["--model", "other"], "serves stub-model, not 'other'"),
    (["--adapter", "lora"], "--adapter, --device, --dtype and --batch-size are for the in-process engine"),
    (["--concurrency", "0"], "--concurrency must be >= 1"),
])
def test_usage_errors_are_one_line(width_pages, tmp_path, capsys, args, message):
    with StubServer() as stub:
        rc = _predict(stub.url, width_pages, tmp_path / "o", *args)
    err = capsys.readouterr().err
    assert rc == 2 and _errors(err) == [e for e in err.splitlines() if e.strip()] and message in err, err
    assert not stub.bodies  # nothing was sent


def test_base_url_without_v1_and_bad_scheme(width_pages, tmp_path, capsys):
    with StubServer() as stub:
        rc = main(["predict", str(width_pages), "--server", stub.url[:-3], "--out", str(tmp_path / "o")])
    assert rc == 2 and f"try --server {stub.url}" in capsys.readouterr().err
    rc = main(["predict", str(width_pages), "--server", "ftp://127.0.0.1/v1", "--out", str(tmp_path / "o")])
    assert rc == 2 and "is not an http(s) URL" in capsys.readouterr().err


def test_nothing_goes_to_proxies_and_the_key_goes_only_to_the_server(width_pages, tmp_path, monkeypatch):
    with StubServer() as proxy, StubServer() as stub:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(var, proxy.url[:-3])
        monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
        monkeypatch.setenv("FIRERED_OCR_API_KEY", "local-key")
        assert _predict(stub.url, width_pages / "p1.png", tmp_path / "o") == 0
    assert not proxy.headers  # the proxy variables were ignored
    auth = {h.get("Authorization") for h in stub.headers}
    assert auth == {"Bearer local-key"}


def test_parse_answer_and_request_units():
    ok = {"choices": [{"message": {"content": "\n# T\n\n"}, "finish_reason": "stop"}],
          "usage": {"completion_tokens": 3}}
    assert parse_answer(ok) == ("# T", 2, False)
    cut = {"choices": [{"message": {"content": "a"}, "finish_reason": "length"}], "usage": {"completion_tokens": 3}}
    assert parse_answer(cut) == ("a", 3, True)
    assert parse_answer({"choices": [{"message": {"content": None}, "finish_reason": "stop"}]}) == ("", -1, False)
    leaked = {"choices": [{"message": {"content": "a<|im_start|>b<|endoftext|>\n<|im_end|>"}, "finish_reason": "stop"}]}
    assert parse_answer(leaked)[0] == "ab"  # as the in-process engine's skip_special_tokens decode
    for bad in ([], "x", {"choices": []}, {"choices": ["x"]},
                {"choices": [{"message": {"content": "a"}, "finish_reason": "abort"}]}):
        with pytest.raises(PageError):
            parse_answer(bad)
    body = chat_request("m", "data:x", "read", max_tokens=9, temperature=0.7, top_p=0.9, seed=3,
                        repetition_penalty=1.05)
    assert {k: body[k] for k in ("temperature", "top_p", "seed", "repetition_penalty", "max_tokens")} == \
        {"temperature": 0.7, "top_p": 0.9, "seed": 3, "repetition_penalty": 1.05, "max_tokens": 9}


def test_server_settings_from_a_config_file_and_model_picks_among_several(width_pages, tmp_path, capsys):
    with StubServer(models=("ocr-a", "ocr-b")) as stub:
        cfg = tmp_path / "predict.yaml"
        cfg.write_text(f"predict:\n  server:\n    url: {stub.url}\n    concurrency: 2\n    backoff: 0.02\n")
        out = tmp_path / "o"
        assert main(["predict", str(width_pages / "p1.png"), "--config", str(cfg), "--out", str(out)]) == 2
        assert "pass --model NAME (it serves ocr-a, ocr-b)" in capsys.readouterr().err
        assert main(["predict", str(width_pages / "p1.png"), "--config", str(cfg), "--model", "ocr-b",
                     "--out", str(out)]) == 0
    assert [b["model"] for b in stub.bodies] == ["ocr-b"]
    assert json.loads((out / "predictions.jsonl").read_text())["model"] == "ocr-b"
