"""A local simulator of the kie.ai and unified-video APIs, for demo mode and integration tests.

Three real HTTP origins on 127.0.0.1 (like production): the **API origin** (api.kie.ai: Veo,
Runway, Aleph, Common, plus the aggregator's ``/v1/video/*``), the **upload origin** (the File Upload
API host) and the **file origin** (the CDN serving results and uploads). See
``/work/shared/api-reference.md`` for the contract being simulated.

Public API::

    from kievideo.sim import SimServer, SimConfig, FaultSpec, DEMO_KEY
    with SimServer(SimConfig(speed=60, seed=1, credits=500)) as sim:
        sim.api_url, sim.upload_url, sim.files_url   # "http://127.0.0.1:PORT"
        sim.journal; sim.creates(); sim.set_faults([...]); sim.clear_faults()
        sim.advance(seconds); sim.credits = 100; sim.task(task_id); sim.file_bytes(url)
        sim.stop(); sim.start()   # the provider goes away (connections refused) and comes back:
                                  # same ports, same tasks/credits/files/journal, clock kept running

Documented choices where the provider docs are silent or disagree:

* Time. ``sim_time = start + monotonic_elapsed * speed + advanced``. Durations are drawn in
  documented (simulated) minutes per model (table in ``tasks.py``) from
  ``random.Random(f"{seed}:{task_counter}")``; ``speed=0`` freezes the clock for tests.
  Timestamps are UTC (``"YYYY-MM-DD HH:MM:SS"`` for Veo/Runway, ISO ``...Z`` for Aleph).
* Credits (``PRICES`` in ``config.py``): veo3_fast 60, veo3 250, veo3_lite 30; ``resolution``
  1080p +5, 4k +120; 1080p upgrade 5 (first call), 4K upgrade 120 (first call); Veo extend =
  model price (fast 60 / quality 250 / lite 30); Runway 720p-5s 12, 720p-10s 30, 1080p-5s 30,
  Runway extend = the 5 s price of its quality; Aleph 110; unified 0 (the aggregator bills its own
  account). Credits are taken when the task is created and are not refunded on failure (refunds are
  undocumented). Too few credits: body code 402 "Insufficient Credits", nothing queued.
* Rate limit: more than ``rate_limit`` (20) accepted creates within ``rate_window_s`` (10)
  SIMULATED seconds -> HTTP 429 ``{"code":429,"msg":"Rate limit exceeded"}``, not queued, not
  charged. kie and unified creates have separate windows. The 1080p trigger call is charged but
  not rate limited (it is a GET that clients poll).
* Trigger words (``SimConfig.fail_words``; case-sensitive substrings of the prompt):
  ``REJECT`` -> content policy (Veo successFlag 2 or 3 by seed, errorCode 400 "Your prompt was
  flagged by Website as violating content policies."; Runway/Aleph fail 400 "Your prompt was caught
  by our AI moderator."; unified ``failed`` with ``detail.video_generation_error``);
  ``FAILGEN`` -> generation failure (Veo successFlag 3 errorCode 501; Runway/Aleph fail 400
  "Generation failed, please try again later"; unified ``failed``). Veo with
  ``enableTranslation: false`` and a non-ASCII prompt fails 400 "Only English prompts ...".
* Input URLs are "reachable" only when they point at this simulator's file origin and the file
  exists and has not expired (the simulator never makes outbound requests). Otherwise Veo tasks
  fail (successFlag 2, errorCode 400, image-fetch text), Runway/Aleph creates answer code 451
  with the same text, unified tasks fail during ``image_downloading``.
* Retention: records older than ``retention_days`` (14) -> Veo 422 "Temporarily supports records
  within 14 days.", Runway ``expireFlag`` 1; result files 404. Uploads live 3 simulated days.
  ``download-url`` links live 20 simulated minutes (then 403).
* Veo 4K: the first ``get-4k-video`` call creates a separate 4K task and answers its id in
  ``data.taskId``; repeats answer 422 "4k is processing..." then 422 "The video has been generated
  successfully" with ``resultUrls``/``imageUrls``; ``record-info`` of the 4K task id also works
  (``response.resultUrls``, ``imageUrls``, ``mediaIds``, ``resolution: "4k"``).
* Veo ``fullResultUrls`` is set on extend tasks only (the longer clip); ``originUrls`` only for
  9:16. Tasks generated with ``resolution`` 1080p/4k cannot be extended (422).
* Aleph record-info follows its doc: ``successFlag`` 1 = success, 0 = in progress *or* failed
  (then ``errorCode``/``errorMessage`` are set).
* Unified errors are real HTTP statuses with an OpenAI-style body
  ``{"error": {"message", "type"}}``: 401 invalid key, 400 validation, 404 unknown id, 429 rate
  limit. Every third task by seed (``(counter + seed) % 3 == 0``) completes while still carrying
  stale ``detail.error_message``/``video_generation_error`` texts (as in the documented example).
* HTTP status vs body code: kie endpoints answer HTTP 200 with the code in the body, except 429
  (HTTP 429); ``http_status_mirrors_code=True`` makes the HTTP status follow the body code.
* Callbacks (``callBackUrl``) are accepted and never called: no outbound requests, ever.
* Fault kinds: see ``faults.py`` / ``middleware.py`` and ``FaultSpec``.
* ``/_sim/*`` control endpoints (API origin, no auth, not billed, not journaled): GET journal,
  POST advance, GET/POST/DELETE faults, GET/POST credits, GET state, GET task?id=.
"""

from .config import DEFAULT_FAIL_WORDS, DEMO_KEY, PRICES, FaultSpec, SimConfig
from .journal import JournalEntry
from .server import SimServer

__all__ = ["DEFAULT_FAIL_WORDS", "DEMO_KEY", "PRICES", "FaultSpec", "JournalEntry", "SimConfig", "SimServer"]
