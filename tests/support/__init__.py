"""What the tests share, one module per concern; fixtures live in conftest.py and use these.

paths        the repository and the example deployment
deployments  deployments with fresh keys, lenient relay limits
envelopes    reports, updates, replies and training records, sealed as the clients do
hostile      plaintexts an attacker can seal, for the key tool to survive
relay_api    the relay's paths, signed headers, bodies, solved proofs of work
processes    real relay and desk processes on free ports; waiting for a condition
site         the example built and served by a real relay; a posted conversation
mail         an SMTP server on loopback that keeps what it receives
keytool      the key tool in this process or as a lead runs it; two leads with a relay
stores       PostgreSQL, several relays opening one store, a loop of its own
browser      Debian's Chromium for Playwright
prints       the text and QR codes of a printed PDF
course       one rendering of the course per source, shared by the builds of a session
"""
