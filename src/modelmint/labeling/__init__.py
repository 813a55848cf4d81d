"""Labeling stage: label projects, queue, annotations, export, agreement, feedback."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.labeling.agreement import (
        AgreementError,
        AgreementReport,
        AnnotatorAccuracy,
        Disagreement,
        PairKappa,
        agreement_report,
        annotator_accuracy,
        cohen_kappa,
        disagreements,
        fleiss_kappa,
        krippendorff_alpha,
    )
    from modelmint.labeling.annotations import (
        AnnotationInfo,
        Annotations,
        FinalLabels,
        SuggestionReport,
        check_value,
        final_labels,
    )
    from modelmint.labeling.choices import KINDS
    from modelmint.labeling.export import ExportResult, export_labels
    from modelmint.labeling.feedback import (
        Feedback,
        FeedbackError,
        FeedbackExport,
        FeedbackRecord,
    )
    from modelmint.labeling.label_studio import (
        LabelStudioError,
        LSAnnotation,
        LSTask,
        from_label_studio,
        to_label_studio,
        to_label_studio_json,
    )
    from modelmint.labeling.projects import (
        LabelingError,
        LabelProjects,
        Progress,
        ProjectInfo,
        parse_dataset_spec,
    )
    from modelmint.labeling.queue import ItemView, LabelQueue
    from modelmint.labeling.transcripts import TranscriptRecord, Transcripts

__all__ = [
    "KINDS",
    "AgreementError",
    "AgreementReport",
    "AnnotationInfo",
    "Annotations",
    "AnnotatorAccuracy",
    "Disagreement",
    "ExportResult",
    "Feedback",
    "FeedbackError",
    "FeedbackExport",
    "FeedbackRecord",
    "FinalLabels",
    "ItemView",
    "LSAnnotation",
    "LSTask",
    "LabelProjects",
    "LabelQueue",
    "LabelStudioError",
    "LabelingError",
    "PairKappa",
    "Progress",
    "ProjectInfo",
    "SuggestionReport",
    "TranscriptRecord",
    "Transcripts",
    "agreement_report",
    "annotator_accuracy",
    "check_value",
    "cohen_kappa",
    "disagreements",
    "export_labels",
    "final_labels",
    "fleiss_kappa",
    "from_label_studio",
    "krippendorff_alpha",
    "parse_dataset_spec",
    "to_label_studio",
    "to_label_studio_json",
]

lazy_exports(__name__)
