"""What the API's routes call: one service per resource, built once per app (`Services`).

Routes never touch stores, the registry or the line directly; services raise `DomainError`s,
which the app's one exception handler turns into HTTP answers."""

from __future__ import annotations

from dataclasses import dataclass

from gaikan.service.rechecks import Rechecks
from gaikan.service.reject_stream import RejectStream
from gaikan.service.services.camera import CameraService
from gaikan.service.services.context import ApiContext
from gaikan.service.services.metrics import MetricsService
from gaikan.service.services.models import ModelsService
from gaikan.service.services.results import ResultsService
from gaikan.service.services.shadow import ShadowService
from gaikan.service.services.status import StatusService
from gaikan.service.services.thresholds import ThresholdsService


@dataclass(frozen=True, slots=True)
class Services:
    context: ApiContext
    status: StatusService
    results: ResultsService
    models: ModelsService
    thresholds: ThresholdsService
    shadow: ShadowService
    camera: CameraService
    metrics: MetricsService
    reject: RejectStream  # the reject gate every PLC protocol reads (REST, OPC UA, Modbus)
    rechecks: Rechecks  # people's re-check verdicts, the re-check queue and summary

    @classmethod
    def of(cls, context: ApiContext) -> Services:
        return cls(
            context=context,
            status=StatusService(context),
            results=ResultsService(context),
            models=ModelsService(context),
            thresholds=ThresholdsService(context),
            shadow=ShadowService(context),
            camera=CameraService(context),
            metrics=MetricsService(context),
            reject=context.reject,
            rechecks=Rechecks(context.stores.rechecks, context.stores.decisions, context.stores.versions, context.settings.defect_types),
        )
