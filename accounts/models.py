"""People, their roles and profiles; regions; licenses; consent; staff invitations."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .validators import validate_time_zone


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    VIETNAMESE = "vi", _("Vietnamese")


phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-]{3,20}$",
    _("Enter a phone number with digits only, optionally starting with +, e.g. +84 912 345 678."),
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=User.Role.CLINIC_ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CLINICIAN = "clinician", _("Psychiatrist")
        CLINIC_ADMIN = "clinic_admin", _("Clinic administrator")

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def is_clinician(self) -> bool:
        return self.role == self.Role.CLINICIAN

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == self.Role.CLINIC_ADMIN

    @property
    def is_staff_role(self) -> bool:
        return self.role in (self.Role.CLINICIAN, self.Role.CLINIC_ADMIN)


class Region(models.Model):
    code = models.CharField(
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}-[A-Z0-9]{1,3}$", _("Use an ISO 3166-2 code such as VN-HN."))],
    )
    name = models.CharField(max_length=100)
    country = models.CharField(
        max_length=2, validators=[RegexValidator(r"^[A-Z]{2}$", _("Two capital letters, e.g. VN."))]
    )
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    default_language = models.CharField(max_length=5, choices=Language.choices)
    emergency_number = models.CharField(max_length=20, validators=[phone_validator])

    class Meta:
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PatientProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient_profile")
    home_region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    preferred_language = models.CharField(max_length=5, choices=Language.choices)
    phone = models.CharField(max_length=20, blank=True, validators=[phone_validator])
    date_of_birth = models.DateField(null=True, blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True, validators=[phone_validator])
    # Where the patient is right now, confirmed at the start of each call (video issue).
    current_region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    current_region_confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Patient profile {self.pk}"


class ClinicianProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="clinician_profile")
    display_name = models.CharField(max_length=120)
    languages = models.JSONField(default=list, help_text="Language codes, e.g. [\"vi\", \"en\"].")
    bio = models.TextField(blank=True, max_length=2000)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    on_call = models.BooleanField(default=False, help_text="Receives escalated crisis alerts.")

    def __str__(self) -> str:
        return self.display_name


class License(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending verification")
        VERIFIED = "verified", _("Verified")
        REVOKED = "revoked", _("Revoked")

    clinician = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="licenses",
        limit_choices_to={"role": User.Role.CLINICIAN},
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="licenses")
    number = models.CharField(max_length=64)
    valid_from = models.DateField()
    valid_until = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    verified_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region__code", "-valid_until"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="license_valid_until_after_from",
            ),
            models.UniqueConstraint(fields=["region", "number"], name="license_number_unique_in_region"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.region.code}, {self.get_status_display()})"


class ConsentDocument(models.Model):
    """One version of the telehealth consent text. The newest published version is current."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body_en = models.TextField()
    body_vi = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Consent v{self.version}"

    def body_for(self, language: str) -> str:
        return self.body_vi if language == Language.VIETNAMESE else self.body_en


class ConsentAcceptance(models.Model):
    patient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "document"], name="consent_once_per_version")
        ]

    def __str__(self) -> str:
        return f"Consent v{self.document.version} by user {self.patient_id}"


class Invitation(models.Model):
    """A one-time invitation for a clinician or clinic admin; only the token's hash is stored."""

    email = models.EmailField(max_length=254)
    role = models.CharField(
        max_length=20,
        choices=[(User.Role.CLINICIAN, User.Role.CLINICIAN.label),
                 (User.Role.CLINIC_ADMIN, User.Role.CLINIC_ADMIN.label)],
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitation"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} as {self.role}"
