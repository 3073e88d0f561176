"""The lead's desk: the inbox in a browser, served on 127.0.0.1 to this computer only.

`python -m keytool --home DIR desk` starts it (server.py). It imports nothing
from the relay or the builder: like the rest of the key tool, it talks to the
relay only through keytool.client, and trusts only the deployment config.
"""
