"""The builder: a deployment config in, a static site out (pages, QR codes, course, manifest)."""
