"""The local demo: keys, a build and a relay for the example deployment on this machine."""
