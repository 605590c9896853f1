"""`ganforge submit`: a job or sweep, validated here, run on a Ray cluster through the Jobs API."""

from ganforge.pipelines.submit.package import Submission, submit

__all__ = ["Submission", "submit"]
