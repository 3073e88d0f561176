"""The key tool's one error type: its message is one sentence for the person at the keyboard."""


class KeyToolError(Exception):
    pass
