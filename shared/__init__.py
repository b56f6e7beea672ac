"""The wire contract between ghes_agent and cloud_api.

Imported by both services and importing neither. The public names are pinned by a test.
"""

from shared.emails import InvalidEmailError, is_valid_email, normalize_email
from shared.errors import ErrorBody
from shared.receipt import UsageReceipt
from shared.report import (
    SCHEMA_VERSION,
    Excluded,
    LicenseInfo,
    ParsedReport,
    ReportFormatError,
    ReportHeader,
    ReportUser,
    UsageReport,
    canonical_bytes,
    dump_report,
    parse_report,
)
from shared.signing import (
    ExportFile,
    ExportFileError,
    key_id,
    load_public_key,
    public_key_text,
    read_export,
    sign_report,
    verify_export,
)

__all__ = [
    "SCHEMA_VERSION",
    "ErrorBody",
    "Excluded",
    "ExportFile",
    "ExportFileError",
    "InvalidEmailError",
    "LicenseInfo",
    "ParsedReport",
    "ReportFormatError",
    "ReportHeader",
    "ReportUser",
    "UsageReceipt",
    "UsageReport",
    "canonical_bytes",
    "dump_report",
    "is_valid_email",
    "key_id",
    "load_public_key",
    "normalize_email",
    "parse_report",
    "public_key_text",
    "read_export",
    "sign_report",
    "verify_export",
]
