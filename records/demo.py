"""Demo records for `manage.py seed_demo`: questionnaire trends and signed notes. Idempotent."""

from datetime import timedelta

from django.utils import timezone

from scheduling.models import Appointment

from .models import ClinicalNote, Instrument, NoteKind, QuestionnaireResponse
from .services import QuestionnaireAnswers, note_create, note_sign, questionnaire_submit

# Four fortnights of answers, improving; item 9 stays 0 so the demo raises no crisis alert.
PHQ9_SERIES = [
    [2, 3, 2, 2, 1, 2, 2, 1, 0],
    [2, 2, 2, 2, 1, 1, 2, 1, 0],
    [1, 2, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 0, 1, 0, 0, 0],
]
GAD7_SERIES = [
    [2, 3, 2, 2, 1, 2, 2],
    [2, 2, 2, 2, 1, 1, 1],
    [1, 1, 2, 1, 1, 1, 1],
    [1, 1, 1, 0, 0, 1, 0],
]

DEMO_NOTE = {
    "subjective": "Sleeping better since the last visit (about 6 hours). Still worries about work "
                  "in the evenings. No thoughts of self-harm.",
    "objective": "Calm, well groomed, good eye contact. Speech normal in rate and volume. Mood "
                 "'better'; affect reactive. PHQ-9 and GAD-7 lower than four weeks ago.",
    "assessment": "Moderate depressive episode, improving on sertraline 50 mg. Generalised "
                  "anxiety, improving.",
    "plan": "Continue sertraline 50 mg daily. Practise the sleep routine discussed. Review in "
            "four weeks, sooner if mood drops.",
}


def _seed_measures(patient, stdout) -> None:
    if QuestionnaireResponse.objects.filter(patient=patient).exists():
        return
    now = timezone.now()
    for index, (phq, gad) in enumerate(zip(PHQ9_SERIES, GAD7_SERIES, strict=True)):
        when = now - timedelta(days=14 * (len(PHQ9_SERIES) - index))
        questionnaire_submit(patient=patient, instrument=Instrument.PHQ9,
                             answers=QuestionnaireAnswers(answers=phq, difficulty=1),
                             submitted_at=when)
        questionnaire_submit(patient=patient, instrument=Instrument.GAD7,
                             answers=QuestionnaireAnswers(answers=gad, difficulty=1),
                             submitted_at=when)
    stdout.write(f"  records: questionnaire trend for {patient.email}")


def _seed_notes(people, stdout) -> None:
    past = (
        Appointment.objects.filter(
            patient__in=people.patients, clinician__in=people.clinicians,
            starts_at__lt=timezone.now(), clinical_notes__isnull=True,
        )
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("patient", "clinician")
    )
    for appointment in past:
        note = note_create(author=appointment.clinician, patient=appointment.patient,
                           kind=NoteKind.PROGRESS_NOTE, appointment=appointment,
                           sections=DEMO_NOTE)
        note_sign(note_id=note.pk, author=appointment.clinician)
        stdout.write(f"  records: signed progress note for appointment {appointment.pk}")


def seed(*, people, stdout) -> None:
    for patient in people.patients[:2]:
        _seed_measures(patient, stdout)
    _seed_notes(people, stdout)
    stdout.write(f"  records: {ClinicalNote.objects.count()} notes, "
                 f"{QuestionnaireResponse.objects.count()} questionnaire results")
