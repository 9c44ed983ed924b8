"""`firered-ocr predict --server URL`: the pages read through an OpenAI-compatible server, concurrently.

Pages are rendered one at a time on one thread (PyMuPDF is not thread-safe) and at most `concurrency`
requests are in flight; a page is written (its `.md` atomically, then its manifest line) the moment its
answer arrives, so a kill leaves only whole pages and the next run reads only the rest. The manifest is
rewritten in input order at the end, whatever order the answers came in. A page the server cannot read,
after retries, is one `error:` line and the other pages go on.
"""
from __future__ import annotations

import asyncio
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from firered_ocr.page_inputs import InputError, PageRef, load_page
from firered_ocr.predict import DEFAULT_MAX_NEW_TOKENS, Generation, PagePlan, PredictConfig, plan_pages
from firered_ocr.server_client import (PageError, ServerClient, ServerConfig, ServerUnreachable, chat_request,
                                       image_data_url, probe_server)


def check_server_config(sc: ServerConfig) -> None:
    """A bad --server/--concurrency/--timeout/--max-retries is a usage error, found before any page is read."""
    parts = urlsplit(sc.url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--server: {sc.url!r} is not an http(s) URL like http://127.0.0.1:8000/v1")
    if sc.concurrency < 1 or sc.timeout <= 0 or sc.max_retries < 0 or sc.backoff < 0:
        raise ValueError("--concurrency must be >= 1, --timeout > 0 and --max-retries >= 0")


def _where(ref: PageRef) -> str:
    return f"{ref.source} page {ref.page + 1}" if ref.source.suffix.lower() == ".pdf" else str(ref.source)


def _say(line: str) -> None:
    """A whole line on stderr, above the progress bar rather than glued to it."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def _render(ref: PageRef, dpi: int) -> tuple[tuple[int, int], str]:
    image = load_page(ref, dpi)
    return image.size, image_data_url(image)


async def _read_pages(cfg: PredictConfig, plan: PagePlan, model: str, manifest, bar) -> None:
    sc, gen = cfg.server, cfg.generation
    client = ServerClient(sc, log_retry=lambda message: _say(f"warning: {message}"))
    render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
    slots = asyncio.Semaphore(sc.concurrency)
    loop = asyncio.get_running_loop()
    max_tokens = gen.max_new_tokens or DEFAULT_MAX_NEW_TOKENS

    async def read_one(ref: PageRef, size: tuple[int, int], data_url: str) -> None:
        try:
            body = chat_request(model, data_url, cfg.instruction, max_tokens=max_tokens,
                                temperature=gen.temperature, top_p=gen.top_p, seed=gen.seed,
                                repetition_penalty=gen.repetition_penalty)
            t0 = time.perf_counter()
            answer = await client.read_page(body, _where(ref))
            page = Generation(text=answer.text, n_tokens=answer.n_tokens, truncated=answer.truncated)
            plan.write_page(manifest, ref, size, page, time.perf_counter() - t0, model)
        except PageError as exc:
            plan.errors.append(exc)
            _say(f"error: {_where(ref)}: {exc}")
        finally:
            slots.release()
            bar.update(1)

    tasks: set[asyncio.Task] = set()
    try:
        for ref in plan.todo:
            await slots.acquire()  # render no further ahead than the requests in flight
            try:
                size, data_url = await loop.run_in_executor(render_pool, _render, ref, cfg.dpi)
            except InputError as err:
                slots.release()
                bar.update(1)
                plan.errors.append(err)
                _say(f"error: {err}")
                continue
            task = asyncio.ensure_future(read_one(ref, size, data_url))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # only on Ctrl-C: pages in flight are dropped whole, the next run reads them
            task.cancel()
        render_pool.shutdown(wait=False, cancel_futures=True)
        await client.aclose()


def predict_via_server(cfg: PredictConfig, log=print) -> int:
    """The server engine of `predict_to_dir`: same outputs, same resume, same exit status."""
    from tqdm import tqdm

    check_server_config(cfg.server)
    plan = plan_pages(cfg, log)
    if not plan.todo:
        return plan.finish(log)
    model = asyncio.run(probe_server(cfg.server))  # ServerUnreachable: one line, before any page is sent
    log(f"server: {cfg.server.url.rstrip('/')} serving {model}, up to {cfg.server.concurrency} pages in flight")
    bar = tqdm(total=len(plan.todo), unit="page", desc="predict")
    try:
        with plan.manifest_path.open("a", encoding="utf-8") as manifest:
            asyncio.run(_read_pages(cfg, plan, model, manifest, bar))
    except KeyboardInterrupt:
        bar.close()
        plan.finish(log)
        log("interrupted: the pages written are whole; run the same command again to read the rest")
        raise
    bar.close()
    return plan.finish(log)


__all__ = ["ServerUnreachable", "check_server_config", "predict_via_server"]
