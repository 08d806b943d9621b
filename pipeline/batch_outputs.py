"""What a batch writes once its videos are done: the MA-52 submission, and the batch's browser pages
(``index.html``, ``summary.csv``) with the reports that videos skipped as complete still lack."""
from __future__ import annotations

from . import export, report
from .failures import error_line, warn
from .options import Options
from .outcome import Summary


def write_batch_outputs(summary: Summary, opts: Options) -> Summary:
    """The submission (``--submission``) and the batch's reports (unless ``--no-report``), when the batch
    was not interrupted."""
    if opts.submission and not summary.interrupted:
        export.write_submission(opts.out, [o.doc for o in summary.outcomes if o.doc])
    if opts.report and not summary.interrupted:
        write_reports(summary, opts)
    return summary


def write_reports(summary: Summary, opts: Options) -> None:
    """The batch's ``index.html`` and ``summary.csv`` (every record in ``--out``, and this run's failures);
    reports of videos skipped as complete (--resume) that have none yet. Failures here are printed
    warnings: the results stand."""
    for o in summary.outcomes:
        if o.status == "skipped" and o.doc and report.is_result(o.doc):
            path = o.job.outputs(opts.out)["json"]
            if not report.report_path(path).is_file():
                try:
                    report.write_video_report(path, o.doc, video=o.job.path, out=opts.out)
                except Exception as e:  # noqa: BLE001
                    warn(f"{o.job.path}: no report ({error_line(e, opts.out, str(o.job.path))})")
    try:
        failures = [(str(o.job.rel.parent / o.job.path.name), o.message) for o in summary.failed]
        records = report.find_records(opts.out)
        for path, why in records[1]:  # listed in the index as unreadable
            warn(f"{path}: record skipped ({why})")
        report.write_batch(opts.out, report.batch_entries(opts.out, failures, records))
    except Exception as e:  # noqa: BLE001
        report.remove_batch_pages(opts.out)  # they would pass for this run's
        why = error_line(e, opts.out, "index.html and summary.csv")  # (a bug's traceback in OUT/errors.log)
        warn(f"{opts.out / 'index.html'} and summary.csv not written ({why}); the old ones are removed")
