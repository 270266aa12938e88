"""``python -m tutorplane.emulators --host 127.0.0.1 --port 8787`` (also ``tutorplane-emulators``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from tutorplane.common.logging import configure_logging

from .server import EmulatorServer

log = logging.getLogger("tutorplane.emulators")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tutorplane-emulators",
        description="OpenAI- and Anthropic-compatible model API emulators (the offline tutor).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8787, help="port to listen on; 0 picks a free one (default 8787)"
    )
    parser.add_argument("--log-level", default="INFO", help="root log level (default INFO)")
    parser.add_argument("--plain-logs", action="store_true", help="human-readable logs instead of JSON lines")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, got {args.port}")
    return args


async def serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with EmulatorServer(host=host, port=port) as emu:
        log.info(
            "emulators listening",
            extra={
                "url": emu.url,
                "openai_base_url": emu.openai_base_url,
                "anthropic_base_url": emu.anthropic_base_url,
                "realtime_base_url": emu.realtime_base_url,
                "port": emu.port,
            },
        )
        await stop.wait()
        log.info("emulators stopping")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("emulators", args.log_level, json_lines=not args.plain_logs)
    try:
        asyncio.run(serve(args.host, args.port))
    except OSError as exc:
        log.error("emulators failed to start: %s", exc)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
