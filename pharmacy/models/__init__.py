"""ORM models; importing this package registers every table on ``db.metadata``."""

from pharmacy.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from pharmacy.models.fills import Fill, FillAllocation, FillVial, FinalCheck
from pharmacy.models.followup import Observation, OrderReview, SymptomReport
from pharmacy.models.formulary import Formulation, FormulationIngredient
from pharmacy.models.idempotency import IdempotencyKey
from pharmacy.models.orders import Counter, Order
from pharmacy.models.patients import Patient, PatientEntry
from pharmacy.models.printing import Printer, PrintJob
from pharmacy.models.records import LabelRender, Recall
from pharmacy.models.sessions import LoginThrottle, UserSession
from pharmacy.models.settings import PharmacySettings
from pharmacy.models.stock import Batch, BatchComponent, IngredientLot
from pharmacy.models.types import now_utc
from pharmacy.models.users import ROLES, ApiToken, User

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "Batch",
    "BatchComponent",
    "Counter",
    "Fill",
    "FillAllocation",
    "FillVial",
    "FinalCheck",
    "Formulation",
    "FormulationIngredient",
    "IdempotencyKey",
    "IngredientLot",
    "LabelRender",
    "LoginThrottle",
    "Observation",
    "Order",
    "OrderReview",
    "Patient",
    "PatientEntry",
    "PharmacySettings",
    "PrintJob",
    "Printer",
    "Recall",
    "SymptomReport",
    "User",
    "UserSession",
    "now_utc",
]
