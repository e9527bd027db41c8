"""A simulated gateway: a real HTTP server that speaks the gateway's protocol.

It stands in for the gateway (see `docs/gateway.md`) so the studio runs, and the
tests exercise the real client, with no API key and nothing billed. It never imports
Django; sizes and phrasings come from `imagestudio.catalog`.

Run it in the foreground::

    python -m imagestudio.simulator --port 8765 [--host 127.0.0.1] [--latency 0]

The image is a placeholder PNG at the exact size with the prompt on it; for an edit or a
chat turn with images it also shows the inputs as numbered thumbnails (image1, image2, …).
Every fault, trigger and flag below applies to all three POST endpoints alike.

Endpoints
---------
``GET /healthz``
    200 ``{"status": "ok", ...}``.
``GET /_sim/received``
    200 ``{"received": [{"endpoint", "model", "prompt", "size", "pictures", "held_s",
    "request_id", "received_at"}, ...]}``: what the last 2,000 calls carried, oldest first
    (the prompt as sent; for chat, the last user message's text); ``held_s``, the seconds
    the simulator held the call by design before answering (its latency, a soft refusal's
    share of it, a hang's hold; 0 for a refusal answered at once); the request id it
    answered with and when the call arrived (Unix time). Tests assert on it; the real
    gateway has no such page.
``POST /v1/images/generations`` (JSON)
    ``Authorization: Bearer <any non-empty token>``. ``model`` is ``gpt-image-2-vip`` or
    ``gpt-image-2-all``; ``prompt`` is required; ``response_format`` is ``url`` (default,
    as in the older docs) or ``b64_json``. The older docs' strictness is enforced, so a
    client that passes here passes everywhere:

    * -vip: ``size`` must be one of the 30 catalog sizes or ``auto`` (missing = ``auto``
      = 2048x2048); ``quality`` or ``n`` present (even null) is a 400.
    * -all: ``size``, ``n``, ``quality``, ``aspect_ratio`` present is a 400. The output
      size comes from a catalog phrasing at the very start of the prompt (after any
      ``[sim:...]`` tokens are removed), else ``catalog.ALL_DEFAULT_RESOLUTION``.

    Other fields the official SDK may send (``user``, ``style``, ...) are ignored.
    Answer: ``{"created", "data": [{"url"} | {"b64_json"}], "usage": {"input_tokens",
    "output_tokens", "total_tokens"}}``. ``b64_json`` carries the
    ``data:image/png;base64,`` prefix unless ``--no-b64-prefix``.
``POST /v1/images/edits`` (multipart/form-data)
    Fields ``model``, ``prompt``, ``response_format``, ``size`` (-vip only), checked as on
    generations; files under ``image`` repeated, or ``image[]`` (the official SDK), in
    prompt order (image1, image2, …); a ``mask`` file is read and ignored. A non-multipart
    body, another file field name (``images``, ``image_file``), no image, or more than 16
    images is a 400 ``invalid_request_error``; a file over ``catalog.INPUT_MAX_BYTES`` is a
    400 ``invalid_request_error`` naming it; a file that is not PNG/JPEG/WebP by content
    (SVG, PDF, text, GIF) is the gateway's 400::

        {"error": {"message": "Invalid image file or mode for image 2, please check your
         image file.", "type": "shell_api_error", "param": "", "code": "invalid_image_file"}}

    Answer: the Images shape, as generations.
``POST /v1/chat/completions`` (JSON)
    The prompt is the text of the last user message; its ``image_url`` parts (and only
    its: earlier turns are ignored) are the inputs, checked like edit files. ``data:`` URLs
    are decoded; an ``http(s)`` URL is used only when it is one of the simulator's own
    ``/files/`` links (read from memory; expired: ``invalid_image_file``), others are
    ignored, never fetched. The answer is a chat completion whose
    ``choices[0].message.content`` is ``![image](<url of /files/…png>)``, or
    ``![image](data:image/png;base64,…)`` when the body has ``"response_format":
    "b64_json"`` or with ``--chat-inline-images``. With ``--chat-vip-images-shape`` -vip
    answers Images-shaped instead (``{"created", "data": [{"url"}], "usage"}``, no
    ``choices``), as the older -vip page says. ``stream: true`` is a 400.
``GET /files/<id>.png`` (and HEAD)
    The generated image until ``--url-ttl`` seconds have passed, then 404 (like the CDN).
    Kept in memory, oldest evicted past 200 images or 256 MB.

``GET /api/log/self`` (the gateway's Log Query API)
    Every call billed above is a row: a system token without ``Bearer`` (``--log-token``),
    10 rows a page, gzip, ``quota`` = USD × 500,000, ``other`` a JSON string;
    ``POST /_sim/log/<action>`` bills calls never sent, leaves billed ones out, lists an
    unreadable row, fails, stalls or moves the log's clock (see ``calllog``).

Every response, errors included, carries the same id in ``request-id`` and
``x-request-id`` (older and newer docs disagree on the name).

Error bodies
------------
Gateway-made errors (auth, quota, saturation, validation) use the relay's shape, with the
request id appended to the message the way the relay does::

    {"error": {"message": "无效的令牌 (request id: …)", "type": "new_api_error", "code": ""}}

* 400 validation: ``type`` ``invalid_request_error``, ``param`` names the field.
* 400 safety: ``code`` ``moderation_blocked``.
* 401: ``无效的令牌``; missing/empty bearer token too.
* 403 quota: ``code`` ``insufficient_user_quota`` (the relay answers quota with 403).
* 429: ``当前分组上游负载已饱和，请稍后再试``.
* 500 content policy: ``"Image was not generated as expected. Please adjust the prompt
  and retry (traceid: <32 hex>)"``, ``localized_message`` ``Unknown error``, ``type``
  ``invalid_request_error``, ``code`` null (copied from the gateway's FAQ).
* 500 -vip 4K: ``{"status_code": 500, "error": {…, "type": "invalid_request_error"}}``.
* 500 ``write_response_body_failed``: ``code`` and message ``write_response_body_failed``.
* 500 generic transient: ``type`` ``new_api_error``, ``code`` ``bad_response_status_code``.
* 500 oversized input (the docs: inputs over 1.5 MB are the usual cause of
  ``shell_api_error`` / "Unknown error"; the body follows the FAQ's 500)::

    {"error": {"message": "Unknown error", "localized_message": "Unknown error",
     "type": "shell_api_error", "param": "", "code": null}}

Soft refusal (a choice, documented here)
----------------------------------------
The gateway's soft refusals are chat-shaped text with no image, HTTP 200, billed. Through
``/images/generations`` there is no text field in the Images shape, so the simulator
answers 200 with the Images shape, an EMPTY ``data`` list, and the refusal text in a
top-level ``message``::

    {"created": 1760000000, "data": [], "message": "I can't help with that…", "usage": {…}}

The same on ``/images/edits``. Through ``/chat/completions`` it is always an ordinary chat
completion whose content is only the text (with ``--chat-vip-images-shape`` too).
A client must treat "200 with no image" as a soft refusal. Soft refusals come back after a
quarter of the usual latency (the docs: "short-latency calls are usually soft refusals").

Prompt triggers (deterministic, for tests and demos)
-----------------------------------------------------
Put a token in the prompt; it is removed before the phrasing is read and the image drawn.

* ``[sim:401]`` 401 invalid token.
* ``[sim:quota]`` 403 ``insufficient_user_quota``.
* ``[sim:moderation]`` 400 ``moderation_blocked``.
* ``[sim:429]`` 429 upstream saturated (answered at once).
* ``[sim:500]`` generic transient 500.
* ``[sim:4k-500]`` the -vip 4K 500, only when the size sent is a 4K size, so a client that
  falls back to the 2K size of the same ratio succeeds with the same prompt.
* ``[sim:content-policy]`` 500 content-policy block.
* ``[sim:write-failed]`` 500 ``write_response_body_failed``.
* ``[sim:timeout]`` hold the connection ``--timeout-hold`` seconds, then close it with no
  answer at all.
* ``[sim:soft-refusal]`` 200 with text and no image (see above).
* ``[sim:corrupt]`` 200 with a url / b64 whose bytes are not an image.
* ``[sim:oversize]`` the 500 "Unknown error" of an oversized input, whatever the inputs.
* ``[sim:<fault>x<N>]`` once-only form, e.g. ``[sim:429x2]``: the first N requests carrying
  this exact prompt fail that way, later ones go on (counters in memory, per prompt).
* ``[sim:latency=0.5]`` this request's latency in seconds (overrides the flags).

An unknown ``[sim:...]`` token is a 400 naming the valid ones, so a typo never passes as
a success. Pre-generation faults (401, quota, moderation, 429, validation) answer without
latency; the others after it.

Flags
-----
``--latency S`` fixed, or ``--latency-min A --latency-max B`` uniform (default 2–5 s);
fault rates 0..1: ``--fault-4k-500`` (-vip 4K sizes only), ``--fault-429``,
``--fault-timeout``, ``--fault-content-policy``, ``--fault-soft-refusal``,
``--oversize-error-rate`` (default 0.5: the chance that a call with an input over
``catalog.INPUT_TARGET_BYTES`` fails "Unknown error"); ``--chat-inline-images``,
``--chat-vip-images-shape`` (see chat above);
``--timeout-hold S`` (default 600); ``--b64-prefix`` / ``--no-b64-prefix`` (default
prefixed); ``--url-ttl S`` (default 86400); ``--seed N``.
"""
