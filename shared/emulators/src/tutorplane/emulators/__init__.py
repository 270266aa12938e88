"""OpenAI- and Anthropic-compatible model API emulators (same wire formats), scriptable per test"""
