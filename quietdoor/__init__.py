"""Quiet Door: code shared by the builder, the relay, the key tool and the demo."""
