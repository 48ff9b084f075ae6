"""The one error the analysis steps raise for input they cannot use."""

__all__ = ["AnalysisInputError"]


class AnalysisInputError(Exception):
    """Input that cannot be analysed: a missing folder, malformed JSON or CSV.

    The message is one sentence that names the file and says how to fix it; the
    command line prints it and exits with status 2.
    """
