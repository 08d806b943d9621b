"""Review reports that researchers open in a browser, built from the result records.

* Per video, ``NAME.report.html`` beside ``NAME.json`` (``video_page``): the video in an HTML5 player
  (the overlay video when one was made, else the original, linked relatively); a timeline with one lane
  per person and kind (MMN actions with probabilities, the weight-free actions, the weight-free MA-52
  body part, hand touches and resting contacts, still/absent stretches; camera cuts as dashed lines)
  where a click seeks the video; motion energy over time per body region (``figures``); a table of the
  segments that sorts and filters, with a keyframe (the person and their skeleton) per segment
  (``keyframes``); the settings, checkpoints and pose backend used. The file holds everything but the
  video (plotly.js from the plotly package, gzip-compressed and unpacked by the browser; figure data;
  keyframes as JPEG: ``rendering``): it opens offline from the output folder.
* Per batch, in the output folder (``batch_pages``): ``summary.csv`` (one row per video and analysed
  person, one column per category and measure: ``summary``) and ``index.html`` (every video with its
  status, counts, rates and times per category, and a link to its report).

Everything comes from the JSON records (``record_files``), the pose caches (skeletons) and the videos
(keyframes), so ``python -m pipeline.report OUT`` (``cli``) builds the reports of older runs too.

Here: the package's public names, what a run of the pipeline calls (``pipeline.run``) to write a video's
report and a batch's pages, and ``main`` (the ``microaction-report`` command: installed console scripts
import it from here).
"""
from .batch_pages import batch_entries, remove_batch_pages, write_batch
from .cli import main
from .record_files import find_records, is_result, report_path
from .video_page import write_video_report

__all__ = ["batch_entries", "find_records", "is_result", "main", "remove_batch_pages", "report_path", "write_batch",
           "write_video_report"]
