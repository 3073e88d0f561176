"""The built site, served as it is; a precompressed copy when the browser takes one.

The builder writes `page.html.gz` (and, but for a school's own pages,
`page.html.br`) beside `page.html`; a student on one bar of signal gets the
smallest copy there is that the browser accepts.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


class PrecompressedStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: Any,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request_headers = Headers(scope=scope)
        accepted = {
            part.split(";")[0].strip().lower()
            for part in request_headers.get("accept-encoding", "").split(",")
        }
        media_type = mimetypes.guess_type(str(full_path))[0] or "application/octet-stream"
        for encoding, suffix in ENCODINGS:
            compressed = f"{full_path}{suffix}"
            if encoding in accepted and os.path.isfile(compressed):
                # The copy's own stat: its ETag and Last-Modified, which a reload's
                # If-None-Match is compared with (and which differ per encoding).
                response: Response = FileResponse(
                    compressed,
                    status_code=status_code,
                    media_type=media_type,
                    headers={"content-encoding": encoding, "vary": "accept-encoding"},
                    stat_result=os.stat(compressed),
                )
                break
        else:
            response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
            response.headers["vary"] = "accept-encoding"
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response
