"""Talk to an OpenAI-compatible VLM server (vLLM, SGLang, `transformers serve`, ...) about one page at a time.

Three things live here: the start-up probe (`probe_server`: is anything listening at the URL, and which model
does it serve), the request for one page (`ServerClient.read_page`: the page as a PNG data URL plus the
project's instruction, to `URL/chat/completions`) and the fault policy around it. A 5xx, 408/429, a timeout
or a dropped connection is retried with exponential backoff up to `max_retries` times; any other answer that
is not a well-formed chat completion is a `PageError` for that page alone, never an exception that stops the
run.

httpx (already installed with Gradio) rather than the `openai` package: we need one endpoint, and want our
own retry policy and answer checks, and a client that ignores proxy variables and `OPENAI_*` settings from
the environment (`trust_env=False`), so that nothing is sent anywhere but the URL the user gave.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import os
import re

import httpx

from firered_ocr.prompts import OCR_INSTRUCTION

API_KEY_ENV = "FIRERED_OCR_API_KEY"  # a bearer token for servers that want one (hosted endpoints)
RETRY_STATUSES = {408, 429}  # besides every 5xx: the server is busy or restarting, not refusing the page
# Qwen's special tokens. The in-process engine decodes with skip_special_tokens; servers need not (transformers
# serve 5.25 passed `<|im_start|>` through in the content, measured with the tiny checkpoint), so they are
# removed here. None of them can be part of a page in the output convention.
QWEN_SPECIAL_TOKENS = re.compile(r"<\|(?:endoftext|im_start|im_end|object_ref_start|object_ref_end|box_start|box_end|"
                                 r"quad_start|quad_end|vision_start|vision_end|vision_pad|image_pad|video_pad)\|>")


@dataclasses.dataclass
class ServerConfig:
    url: str | None = None  # the OpenAI base URL, e.g. http://127.0.0.1:8000/v1; None: the in-process engine
    model: str | None = None  # the served model's name; None: the only model the server lists
    concurrency: int = 8  # requests in flight at once
    timeout: float = 600.0  # seconds for one request, answer included (a dense page on a busy server is slow)
    max_retries: int = 3  # retries of one page after a 5xx, a timeout or a dropped connection
    backoff: float = 1.0  # seconds before the first retry; doubled each time, capped at 30 s


class ServerUnreachable(RuntimeError):
    """Nothing usable at the URL: raised once, at start, before any page is sent."""


class PageError(RuntimeError):
    """One page could not be read through the server; the message says why, the run goes on."""


@dataclasses.dataclass
class ServerAnswer:
    text: str
    n_tokens: int
    truncated: bool  # finish_reason "length": cut by max_tokens, not ended by the model
    attempts: int


def image_data_url(image) -> str:
    """The page as a lossless PNG data URL: the server sees exactly the pixels the in-process engine would."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)  # level 1: a third of the default's time, still lossless
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat_request(model: str, data_url: str, instruction: str = OCR_INSTRUCTION, *, max_tokens: int,
                 temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
                 repetition_penalty: float = 1.0) -> dict:
    """The chat-completions body for one page: image first, then the instruction, as in training."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url}},
                                                  {"type": "text", "text": instruction}]}],
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream": False,
    }
    if temperature > 0:
        body["top_p"] = top_p
        if seed is not None:
            body["seed"] = seed
    if repetition_penalty != 1.0:  # not in OpenAI's schema; vLLM and SGLang take it as an extra field
        body["repetition_penalty"] = repetition_penalty
    return body


def parse_answer(payload) -> tuple[str, int, bool]:
    """(text, n_tokens, truncated) from a chat completion; PageError if it is not one."""
    try:
        choice = payload["choices"][0]
        content = choice["message"]["content"]
        finish = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise PageError(f"malformed answer (no choices[0].message.content): {str(payload)[:200]!r}") from None
    if content is None:
        content = ""
    if not isinstance(content, str) or finish not in ("stop", "length", None):
        raise PageError(f"malformed answer (content {type(content).__name__}, finish_reason {finish!r})")
    truncated = finish == "length"
    usage = payload.get("usage") if isinstance(payload, dict) else None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if isinstance(tokens, int) and tokens >= 0:
        # Servers count the end-of-turn token they stopped on; the in-process engine does not.
        n_tokens = tokens if truncated or tokens == 0 else tokens - 1
    else:
        n_tokens = -1  # the server did not say
    return QWEN_SPECIAL_TOKENS.sub("", content).strip("\n"), n_tokens, truncated


def _headers() -> dict:
    key = os.environ.get(API_KEY_ENV)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _client(cfg: ServerConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=cfg.url.rstrip("/") + "/", headers=_headers(), timeout=httpx.Timeout(cfg.timeout),
        limits=httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency),
        trust_env=False, follow_redirects=False)


async def probe_server(cfg: ServerConfig) -> str:
    """Check the server answers at all, and settle the model name; returns it. ServerUnreachable if not."""
    url = cfg.url.rstrip("/")
    async with _client(cfg) as client:
        try:
            resp = await asyncio.wait_for(client.get("models"), min(cfg.timeout, 30.0))
        except (httpx.TransportError, asyncio.TimeoutError) as exc:
            reason = type(exc).__name__ if not str(exc) else str(exc)
            raise ServerUnreachable(f"cannot reach the server at {url} ({reason}): is it running, "
                                    f"and is this its OpenAI base URL (usually ending in /v1)?") from None
    if resp.status_code == 404 and not url.endswith("/v1"):
        raise ServerUnreachable(f"{url}/models: not found (404); the OpenAI base URL usually ends in /v1: "
                                f"try --server {url}/v1")
    served: list[str] = []
    if resp.status_code == 200:
        try:
            served = [m["id"] for m in resp.json()["data"]]
        except (ValueError, KeyError, TypeError):
            served = []
    elif resp.status_code in (401, 403):
        raise ServerUnreachable(f"{url}: the server refused us ({resp.status_code}); "
                                f"put its API key in the {API_KEY_ENV} environment variable")
    if cfg.model:
        if served and cfg.model not in served:
            raise ServerUnreachable(f"{url} serves {', '.join(served)}, not {cfg.model!r}: pass --model with one of those")
        return cfg.model
    if len(served) == 1:
        return served[0]
    listed = f"it serves {', '.join(served)}" if served else "it did not list its models"
    raise ServerUnreachable(f"{url}: pass --model NAME ({listed})")


class ServerClient:
    """One page per `read_page` call; share one instance (one connection pool) across concurrent calls."""

    def __init__(self, cfg: ServerConfig, log_retry=None):
        self.cfg = cfg
        self.url = cfg.url.rstrip("/") + "/chat/completions"
        self._client = _client(cfg)
        self._log_retry = log_retry or (lambda message: None)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post_once(self, body: dict) -> httpx.Response:
        # wait_for bounds the whole request: httpx's timeout is per phase, and a server that trickles
        # bytes would otherwise never time out.
        return await asyncio.wait_for(self._client.post("chat/completions", json=body), self.cfg.timeout)

    async def read_page(self, body: dict, what: str) -> ServerAnswer:
        """Send one page's request, retrying transient faults; PageError once out of retries or on a bad answer."""
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self._post_once(body)
                if resp.status_code < 400:
                    break
                problem = f"HTTP {resp.status_code}: {resp.text[:200].strip()}"
                retry = resp.status_code >= 500 or resp.status_code in RETRY_STATUSES
            except asyncio.TimeoutError:
                problem, retry = f"no answer within {self.cfg.timeout:g} s", True
            except httpx.TransportError as exc:  # refused, reset, closed without an answer
                problem, retry = f"connection failed ({type(exc).__name__}: {exc})", True
            except httpx.RequestError as exc:  # an answer httpx cannot decode (bad gzip), a redirect loop
                raise PageError(f"{self.url}: malformed answer ({type(exc).__name__}: {exc})") from None
            if not retry:
                raise PageError(f"{self.url}: {problem}")
            if attempt > self.cfg.max_retries:
                raise PageError(f"{self.url}: {problem} (gave up after {attempt} attempt(s))")
            delay = min(self.cfg.backoff * 2 ** (attempt - 1), 30.0)
            self._log_retry(f"{what}: {problem}; retry {attempt} of {self.cfg.max_retries} in {delay:g} s")
            await asyncio.sleep(delay)
        try:
            payload = resp.json()
        except ValueError:
            raise PageError(f"{self.url}: malformed answer (not JSON): {resp.text[:200]!r}") from None
        text, n_tokens, truncated = parse_answer(payload)
        return ServerAnswer(text=text, n_tokens=n_tokens, truncated=truncated, attempts=attempt)
