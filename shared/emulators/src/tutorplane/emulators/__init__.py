"""OpenAI- and Anthropic-compatible model API emulators (same wire formats), scriptable per test.

    from tutorplane.emulators import EmulatorServer, Script

    async with EmulatorServer(host="127.0.0.1", port=0) as emu:
        emu.script.chat("Seven times eight is 56.")
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=emu.openai_base_url)

Without a script every route answers as the deterministic offline tutor (see ``offline.py``).
"""

from .script import ROUTES, Script
from .server import EmulatorServer, EmulatorThread

__all__ = ["ROUTES", "EmulatorServer", "EmulatorThread", "Script"]
