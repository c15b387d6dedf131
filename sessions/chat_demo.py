"""Demo conversations for `manage.py seed_demo` (called from sessions.demo). Idempotent: the
messages carry fixed client ids, so a second run finds them stored and writes nothing."""

from scheduling.selectors import treating_clinicians_for

from .chat_services import message_send, thread_get_or_create

# (from the clinician?, text): the first exchange in each demo patient's conversation.
CONVERSATION = [
    (True, "Hello, this is your psychiatrist. You can write to me here between visits; "
           "I usually answer within two working days."),
    (False, "Thank you. I started the new dose on Monday and I am sleeping a little better."),
    (True, "Good to hear. Keep a short note of your sleep and we will look at it together."),
]


def seed(*, people, stdout) -> None:
    created = 0
    for patient in people.patients:
        for clinician in treating_clinicians_for(patient=patient)[:1]:
            thread = thread_get_or_create(patient=patient, clinician=clinician)
            for n, (from_clinician, text) in enumerate(CONVERSATION):
                sender = clinician if from_clinician else patient
                # Several messages per person at once: a seed, not a flood to refuse.
                result = message_send(thread=thread, sender=sender, rate_limited=False,
                                      client_id=f"demo-{thread.pk}-{n:03d}", body=text)
                created += not result.duplicate
    stdout.write(f"Secure messages: {created} new demo messages.")
