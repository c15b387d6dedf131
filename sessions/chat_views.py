"""The messages pages: the list of conversations and one conversation. They work as plain
pages and form posts; static/js/chat.js upgrades a conversation to the live socket."""

import uuid

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.permissions import role_required

from . import chat_services
from .chat_forms import MessageForm
from .chat_selectors import (
    ThreadNotFound,
    messages_latest,
    person_name,
    thread_get_for_user,
    thread_summaries_for,
)
from .chat_services import ChatError

CHAT_ROLES = (User.Role.PATIENT, User.Role.CLINICIAN)


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@require_GET
@role_required(*CHAT_ROLES)
def thread_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sessions/messages.html",
                  {"summaries": thread_summaries_for(user=request.user)})


@require_GET
@role_required(*CHAT_ROLES)
def thread_with(request: HttpRequest, user_id: int) -> HttpResponse:
    """Open (creating on first use) the conversation with someone in your care team."""
    try:
        thread = chat_services.thread_open_with(user=request.user, other_id=user_id)
    except ThreadNotFound:
        raise Http404 from None
    return redirect("sessions:thread", thread.pk)


@require_http_methods(["GET", "POST"])
@role_required(*CHAT_ROLES)
def thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    try:
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
    except ThreadNotFound:
        raise Http404 from None
    form = MessageForm(request.POST or None,
                       initial={"client_id": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        try:
            chat_services.message_send(thread=thread, sender=request.user,
                                       client_id=form.cleaned_data["client_id"],
                                       body=form.cleaned_data["body"])
        except ChatError as error:
            form.add_error("body", error.detail)
        else:
            flash.success(request, _("Message sent."))
            return redirect("sessions:thread", thread.pk)
    status = 400 if request.method == "POST" else 200
    history = messages_latest(thread=thread)
    chat_services.thread_read_audit(thread=thread, user=request.user, ip=_ip(request))
    if history:
        chat_services.thread_mark_read(thread=thread, user=request.user, seq=history[-1].seq)
    role = thread.role_of(request.user.pk)
    other = thread.clinician if role == "patient" else thread.patient
    other_read = thread.clinician_read_seq if role == "patient" else thread.patient_read_seq
    return render(request, "sessions/messages_thread.html", {
        "thread": thread, "history": history, "form": form, "role": role,
        "other_name": person_name(other), "other_read_seq": other_read,
        "last_seq": history[-1].seq if history else 0,
    }, status=status)
