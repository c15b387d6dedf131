from allauth.account.adapter import DefaultAccountAdapter

from .models import User


class AccountAdapter(DefaultAccountAdapter):
    """Self sign-up creates patients only; staff arrive by invitation."""

    def save_user(self, request, user: User, form, commit: bool = True) -> User:
        user.role = User.Role.PATIENT
        return super().save_user(request, user, form, commit=commit)
